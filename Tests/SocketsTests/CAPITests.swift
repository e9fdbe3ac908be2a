import DataplaneRuntime
import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// The C API (dataplane.h) called as C would: NULL pointers, address
/// lengths in and out, errno.
@Suite("C API")
struct CAPITests {
    @Test("accept: addrlen in/out (truncation, actual length written back), NULL addr allowed, NULL addrlen is EFAULT")
    func acceptAddressLength() throws {
        let net = try TwoCores()
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 5600)
        try listener.listen()
        var clients: [Socket] = []
        for _ in 0..<3 {
            let c = try Socket(.stream, on: net.a)
            try c.connect(.b(5600))
            clients.append(c)
        }
        // A 4-byte buffer: family and port only, addrlen says 16.
        var storage = sockaddr_storage()
        var length = socklen_t(4)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_accept(listener.descriptor, $0, &length) }
        }
        #expect(fd >= SocketDescriptor.base)
        #expect(length == socklen_t(MemoryLayout<sockaddr_in>.size))
        let bytes = withUnsafeBytes(of: &storage) { Array($0) }
        #expect(bytes[0] == UInt8(AF_INET) && bytes[4...7] == [0, 0, 0, 0], "only 4 bytes written")
        // A large buffer: the whole address, addrlen 16.
        var full = sockaddr_in()
        var fullLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd2 = withUnsafeMutablePointer(to: &full) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_accept(listener.descriptor, $0, &fullLength) }
        }
        #expect(fd2 >= 0 && fullLength == 16)
        #expect(IPv4SocketAddress(full) == (try clients[1].localAddress))
        // NULL addr: fine. addr without addrlen: EFAULT.
        #expect(dp_accept(listener.descriptor, nil, nil) >= 0)
        var dummy = sockaddr()
        expectC(.badAddress, "addr without addrlen") { Int(dp_accept(listener.descriptor, &dummy, nil)) }
    }

    @Test("EFAULT for NULL pointers, EINVAL for short addresses, EAFNOSUPPORT, errno from every call")
    func nullPointersAndAddresses() throws {
        let net = try TwoCores()
        let fd = try net.a.socket(domain: AF_INET, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        expectC(.badAddress, "bind NULL") { Int(dp_bind(fd, nil, 16)) }
        expectC(.badAddress, "connect NULL") { Int(dp_connect(fd, nil, 16)) }
        expectC(.badAddress, "sendto NULL buffer") { dp_sendto(fd, nil, 10, 0, nil, 0) }
        expectC(.badAddress, "recv NULL buffer") { dp_recv(fd, nil, 10, 0) }
        var value: Int32 = 0
        expectC(.badAddress, "getsockopt NULL length") { Int(dp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, nil)) }
        var four = socklen_t(4)
        expectC(.badAddress, "getsockopt NULL value") { Int(dp_getsockopt(fd, SOL_SOCKET, SO_TYPE, nil, &four)) }
        var from = sockaddr()
        expectC(.badAddress, "recvfrom: from without fromlen") { dp_recvfrom(fd, &value, 4, Int32(MSG_DONTWAIT), &from, nil) }
        expectC(.badAddress, "setsockopt NULL value") { Int(dp_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, nil, 4)) }
        // A socklen_t that is negative as an int is EINVAL (Linux), not a 4 GiB length.
        var one: Int32 = 1
        expectC(.invalidArgument, "setsockopt (socklen_t)-1") { Int(dp_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(bitPattern: -1))) }
        var negative = socklen_t(bitPattern: -4)
        expectC(.invalidArgument, "getsockopt *optlen = -4") { Int(dp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &negative)) }
        #expect(negative == socklen_t(bitPattern: -4), "a refused getsockopt leaves *optlen alone")
        expectC(.badAddress, "getsockname NULL") { Int(dp_getsockname(fd, nil, nil)) }
        expectC(.badAddress, "getpeername NULL") { Int(dp_getpeername(fd, nil, nil)) }
        expectC(.badAddress, "poll NULL") { Int(dp_poll(nil, 3, 0)) }
        // poll interrupted while waiting: EINTR.
        var turns = 0
        net.a.whileBlocked = { [unowned a = net.a] in
            turns += 1
            if turns == 3 { a.interrupt() }
        }
        var item = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        expectC(.interrupted, "poll interrupted") { Int(dp_poll(&item, 1, 5000)) }
        net.a.whileBlocked = nil
        var address = IPv4SocketAddress.b(9).sockaddr
        expectC(.invalidArgument, "addrlen too short") {
            Int(withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_connect(fd, $0, 8) } })
        }
        var six = sockaddr_in6()
        six.sin6_family = sa_family_t(AF_INET6)
        expectC(.addressFamilyNotSupported, "AF_INET6") {
            Int(withUnsafePointer(to: &six) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                dp_connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } })
        }
        expectC(.notSocket, "stdin") { Int(dp_close(0)) }
        expectC(.badFileDescriptor, "garbage") { Int(dp_close(123_456_789)) }
        // getsockopt: the value is truncated to *optlen, which is not enlarged.
        var small: UInt8 = 0
        var length = socklen_t(1)
        #expect(dp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &small, &length) == 0)
        #expect(small == UInt8(SOCK_DGRAM.rawValue) && length == 1)
        var int: Int32 = 0
        var intLength = socklen_t(8)
        #expect(dp_getsockopt(fd, SOL_SOCKET, SO_TYPE, &int, &intLength) == 0)
        #expect(intLength == 4, "the actual length is written back")
        // fcntl: O_NONBLOCK round trip.
        #expect(dp_fcntl_impl(fd, F_GETFL, 0) & O_NONBLOCK == 0)
        #expect(dp_fcntl_impl(fd, F_SETFL, Int(O_NONBLOCK)) == 0)
        #expect(dp_fcntl_impl(fd, F_GETFL, 0) & O_NONBLOCK != 0)
        expectC(.invalidArgument, "other fcntl commands") { Int(dp_fcntl_impl(fd, F_DUPFD, 0)) }
        // getsockname after bind: the address and its length.
        try net.a.bind(fd, to: IPv4SocketAddress(.any, 9999))
        var name = sockaddr_in()
        var nameLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        #expect(withUnsafeMutablePointer(to: &name) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            dp_getsockname(fd, $0, &nameLength) } } == 0)
        #expect(IPv4SocketAddress(name).port == 9999)
    }
}

/// State for the runtime test's loop (C callbacks capture nothing).
final class RuntimeProbe {
    var turns = 0
    var udp: Int32 = -1
    var received: [UInt8] = []
    var coreID: Int32 = -2
    var failure: String?
    /// dp_socket calls that succeeded before the limit, and the errno at it.
    var opened = 0
    var limitErrno: Int32 = 0
}

@Suite("C runtime")
struct CRuntimeTests {
    @Test("dp_init --loopback and dp_run: the loop runs on core 0, a datagram to our own address comes back, a negative return stops")
    func loopbackRuntime() throws {
        // --max-sockets: the probe's socket and 100,000 more, then EMFILE (issue 18).
        let arguments = ["prog", "--loopback", "--ip", "10.5.0.1/24", "--idle-sleep-us", "0", "--app-flag",
                         "--max-sockets", "100001", "--max-sockets-total", "200000"]
        var pointers = arguments.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let status = pointers.withUnsafeMutableBufferPointer { dp_init(Int32($0.count), $0.baseAddress) }
        #expect(status == 0, "dp_init failed: errno \(errno)")
        #expect(dp_init(0, nil) == -1 && errno == EALREADY)
        let probe = RuntimeProbe()
        let result = dp_run({ argument in
            let probe = Unmanaged<RuntimeProbe>.fromOpaque(argument!).takeUnretainedValue()
            probe.turns += 1
            probe.coreID = dp_core_id()
            if probe.udp < 0 {
                probe.udp = dp_socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                var address = IPv4SocketAddress(IPv4Address(10, 5, 0, 1), 5000).sockaddr
                let bound = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_bind(probe.udp, $0, 16) }
                }
                let sent = withUnsafePointer(to: &address) { to in
                    to.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_sendto(probe.udp, "loop", 4, 0, $0, 16) }
                }
                if bound != 0 || sent != 4 { probe.failure = "bind \(bound) send \(sent) errno \(errno)" }
                var many: [Int32] = []
                while many.count <= 100_000 {
                    let fd = dp_socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
                    if fd < 0 { probe.limitErrno = errno; break }
                    many.append(fd)
                }
                probe.opened = many.count
                for fd in many { _ = dp_close(fd) }
            }
            var buffer = [UInt8](repeating: 0, count: 16)
            let n = dp_recv(probe.udp, &buffer, 16, 0)
            if n > 0 { probe.received = Array(buffer[0..<n]) }
            return probe.received.isEmpty && probe.turns < 200_000 && probe.failure == nil ? 0 : -1
        }, Unmanaged.passUnretained(probe).toOpaque())
        #expect(result == 0)
        #expect(probe.failure == nil, "\(probe.failure ?? "")")
        #expect(probe.coreID == 0)
        #expect(probe.opened == 100_000 && probe.limitErrno == EMFILE, "\(probe.opened) opened, errno \(probe.limitErrno)")
        #expect(probe.received == Array("loop".utf8), "after \(probe.turns) turns")
        #expect(dp_core_id() == -1, "outside dp_run")
        #expect(dp_interrupt(99) == -1 && errno == EINVAL)
    }
}
