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
    func expectC(_ errno: Errno, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation, _ result: () -> Int) {
        let value = result()
        #expect(value == -1, comment, sourceLocation: sourceLocation)
        #expect(Glibc.errno == errno.rawValue, "\(comment): errno \(Glibc.errno), expected \(errno)", sourceLocation: sourceLocation)
    }

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
        expectC(.badAddress, "setsockopt NULL value") { Int(dp_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, nil, 4)) }
        expectC(.badAddress, "getsockname NULL") { Int(dp_getsockname(fd, nil, nil)) }
        expectC(.badAddress, "getpeername NULL") { Int(dp_getpeername(fd, nil, nil)) }
        expectC(.badAddress, "poll NULL") { Int(dp_poll(nil, 3, 0)) }
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
        expectC(.invalidArgument, "other fcntl commands") { Int(dp_fcntl_impl(fd, F_GETFD, 0)) }
        // getsockname after bind: the address and its length.
        try net.a.bind(fd, to: IPv4SocketAddress(.any, 9999))
        var name = sockaddr_in()
        var nameLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        #expect(withUnsafeMutablePointer(to: &name) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            dp_getsockname(fd, $0, &nameLength) } } == 0)
        #expect(IPv4SocketAddress(name).port == 9999)
    }
}
