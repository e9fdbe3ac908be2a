import CPlatform
import DataplaneRuntime
import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// The Linux calls of the C API beyond the seed's (dataplane.h "Linux
/// calls"): each errno row of Docs/SOCKETS.md "Linux calls" comes from here
/// (epoll's own from Tools/test.d/51-c-epoll.sh, run against Linux too).
@Suite("C API: Linux calls")
struct LinuxCallsTests {
    @Test("accept4: SOCK_NONBLOCK and SOCK_CLOEXEC on the new socket; other flags EINVAL, nothing accepted")
    func acceptFour() throws {
        let net = try TwoCores()
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 5700)
        try listener.listen()
        let client = try Socket(.stream, on: net.a)
        try client.connect(.b(5700))
        expectC(.invalidArgument, "accept4 with MSG_PEEK as a flag") { Int(dp_accept4(listener.descriptor, nil, nil, Int32(MSG_PEEK))) }
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let child = dp_accept4(listener.descriptor, nil, nil, flags)
        #expect(child >= SocketDescriptor.base, "the queued connection was still there after the refused call")
        #expect(dp_fcntl_impl(child, F_GETFL, 0) & O_NONBLOCK != 0)
        #expect(dp_fcntl_impl(child, F_GETFD, 0) == FD_CLOEXEC)
        #expect(dp_fcntl_impl(child, F_SETFD, 0) == 0 && dp_fcntl_impl(child, F_GETFD, 0) == 0)
        var byte: UInt8 = 0
        expectC(.resourceTemporarilyUnavailable, "non-blocking read with nothing queued") { dp_read(child, &byte, 1) }
        expectC(.invalidArgument, "fcntl F_DUPFD") { Int(dp_fcntl_impl(child, F_DUPFD, 0)) }
        expectC(.badFileDescriptor, "accept4 on garbage") { Int(dp_accept4(123_456_789, nil, nil, 0)) }
    }

    @Test("read/write/readv/writev: a stream gathered and scattered byte-exact; iovcnt < 0 or > 1024 EINVAL; NULL iov EFAULT")
    func vectorsOnAStream() throws {
        let net = try TwoCores()
        let (client, server, _) = try net.connectedTCP(port: 5701)
        var a = Array("hello, ".utf8), c = Array("vectored ".utf8), d = Array("world".utf8)
        let sent = a.withUnsafeMutableBytes { a in c.withUnsafeMutableBytes { c in d.withUnsafeMutableBytes { d in
            var vectors = [iovec(iov_base: a.baseAddress, iov_len: a.count), iovec(iov_base: nil, iov_len: 0),
                           iovec(iov_base: c.baseAddress, iov_len: c.count), iovec(iov_base: d.baseAddress, iov_len: d.count)]
            return dp_writev(client.descriptor, &vectors, 4)
        } } }
        #expect(sent == 21)
        net.pump(seconds: 1) { (try? net.b.bytesReadable(server.descriptor)) == 21 }
        var readable: Int32 = 0
        #expect(dp_ioctl_impl(server.descriptor, UInt(FIONREAD), &readable) == 0 && readable == 21)
        var first = [UInt8](repeating: 0, count: 5), second = [UInt8](repeating: 0, count: 30)
        let got = first.withUnsafeMutableBytes { a in second.withUnsafeMutableBytes { b in
            var vectors = [iovec(iov_base: a.baseAddress, iov_len: 5), iovec(iov_base: b.baseAddress, iov_len: 30)]
            return dp_readv(server.descriptor, &vectors, 2)
        } }
        #expect(got == 21)
        #expect(first + second[0..<16] == Array("hello, vectored world".utf8))
        #expect(dp_write(server.descriptor, "ok", 2) == 2)
        net.pump(seconds: 1) { (try? net.a.bytesReadable(client.descriptor)) == 2 }
        var two = [UInt8](repeating: 0, count: 2)
        #expect(dp_read(client.descriptor, &two, 2) == 2 && two == Array("ok".utf8))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { scratch.deallocate() }
        var vector = iovec(iov_base: scratch, iov_len: 2)
        expectC(.invalidArgument, "iovcnt -1") { dp_readv(client.descriptor, &vector, -1) }
        expectC(.invalidArgument, "iovcnt 1025") {
            let many = [iovec](repeating: vector, count: 1025)
            return dp_writev(client.descriptor, many, 1025)
        }
        expectC(.badAddress, "iov NULL") { dp_writev(client.descriptor, nil, 2) }
        var null = iovec(iov_base: nil, iov_len: 4)
        expectC(.badAddress, "iov_base NULL with a length") { dp_writev(client.descriptor, &null, 1) }
        expectC(.badFileDescriptor, "read on garbage") { dp_read(123_456_789, &two, 2) }
        expectC(.notSocket, "write on stdin is ENOTSOCK: dp_write takes only sockets") { dp_write(0, "x", 1) }
    }

    @Test("sendmsg/recvmsg on UDP: msg_name both ways, gather into one datagram, MSG_TRUNC out (and in), EMSGSIZE beyond 1024 buffers, no control messages")
    func messagesOnDatagrams() throws {
        let net = try TwoCores()
        let receiver = try Socket(.datagram, on: net.b)
        try receiver.bind(port: 5702)
        let sender = try Socket(.datagram, on: net.a)
        var to = IPv4SocketAddress.b(5702).sockaddr
        var head = Array("head-".utf8), tail = Array("tail".utf8)
        let sent = head.withUnsafeMutableBytes { h in tail.withUnsafeMutableBytes { t in
            var vectors = [iovec(iov_base: h.baseAddress, iov_len: h.count), iovec(iov_base: t.baseAddress, iov_len: t.count)]
            return withUnsafeMutablePointer(to: &to) { name in vectors.withUnsafeMutableBufferPointer { v in
                var message = msghdr(msg_name: name, msg_namelen: 16, msg_iov: v.baseAddress, msg_iovlen: 2,
                                     msg_control: nil, msg_controllen: 0, msg_flags: 0)
                return dp_sendmsg(sender.descriptor, &message, 0)
            } }
        } }
        #expect(sent == 9)
        net.pump(seconds: 1) { (try? net.b.bytesReadable(receiver.descriptor)) == 9 }
        var next: Int32 = 0
        #expect(dp_ioctl_impl(receiver.descriptor, UInt(FIONREAD), &next) == 0 && next == 9, "FIONREAD on UDP: the next datagram's size")
        // 3 + 2 bytes of buffers for a 9-byte datagram: truncated, MSG_TRUNC set.
        var a = [UInt8](repeating: 0, count: 3), b = [UInt8](repeating: 0, count: 2)
        var from = sockaddr_in()
        var flagsOut: Int32 = 0, nameLength: socklen_t = 0
        let got = a.withUnsafeMutableBytes { x in b.withUnsafeMutableBytes { y in
            var vectors = [iovec(iov_base: x.baseAddress, iov_len: 3), iovec(iov_base: y.baseAddress, iov_len: 2)]
            return withUnsafeMutablePointer(to: &from) { name in vectors.withUnsafeMutableBufferPointer { v in
                var message = msghdr(msg_name: name, msg_namelen: 16, msg_iov: v.baseAddress, msg_iovlen: 2,
                                     msg_control: nil, msg_controllen: 0, msg_flags: 0)
                let n = dp_recvmsg(receiver.descriptor, &message, 0)
                flagsOut = message.msg_flags
                nameLength = message.msg_namelen
                return n
            } }
        } }
        #expect(got == 5 && a == Array("hea".utf8) && b == Array("d-".utf8))
        #expect(flagsOut == Int32(MSG_TRUNC), "MSG_TRUNC in msg_flags")
        let senderPort = try sender.localAddress.port
        #expect(nameLength == 16 && IPv4SocketAddress(from) == IPv4SocketAddress(TwoCores.addressA, senderPort))
        // MSG_TRUNC as a flag: the real length is returned.
        _ = try sender.send(Array("0123456789".utf8), to: .b(5702))
        net.pump(seconds: 1) { (try? net.b.bytesReadable(receiver.descriptor)) == 10 }
        var one = [UInt8](repeating: 0, count: 1)
        let real = one.withUnsafeMutableBytes { x in
            var vector = iovec(iov_base: x.baseAddress, iov_len: 1)
            return withUnsafeMutablePointer(to: &vector) { v in
                var message = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: v, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0)
                return dp_recvmsg(receiver.descriptor, &message, Int32(MSG_TRUNC))
            }
        }
        #expect(real == 10 && one == [0x30])
        expectC(.badAddress, "sendmsg NULL msg") { dp_sendmsg(sender.descriptor, nil, 0) }
        expectC(.badAddress, "recvmsg NULL msg") { dp_recvmsg(sender.descriptor, nil, 0) }
        let control = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { control.deallocate() }
        expectC(.invalidArgument, "control messages") {
            var message = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: nil, msg_iovlen: 0, msg_control: control, msg_controllen: 32, msg_flags: 0)
            return dp_sendmsg(sender.descriptor, &message, 0)
        }
        expectC(.messageTooLong, "msg_iovlen 1025") {
            var vectors = [iovec](repeating: iovec(iov_base: control, iov_len: 1), count: 1025)
            return vectors.withUnsafeMutableBufferPointer { v in
                var message = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: v.baseAddress, msg_iovlen: 1025, msg_control: nil, msg_controllen: 0, msg_flags: 0)
                return dp_sendmsg(sender.descriptor, &message, 0)
            }
        }
        expectC(.messageTooLong, "a gathered datagram beyond 64 KiB") {
            var big = [UInt8](repeating: 1, count: 40_000)
            return big.withUnsafeMutableBytes { x in
                var vectors = [iovec(iov_base: x.baseAddress, iov_len: x.count), iovec(iov_base: x.baseAddress, iov_len: x.count)]
                return withUnsafeMutablePointer(to: &to) { name in vectors.withUnsafeMutableBufferPointer { v in
                    var message = msghdr(msg_name: name, msg_namelen: 16, msg_iov: v.baseAddress, msg_iovlen: 2, msg_control: nil, msg_controllen: 0, msg_flags: 0)
                    return dp_sendmsg(sender.descriptor, &message, 0)
                } }
            }
        }
    }

    @Test("ioctl: FIONBIO both ways, SIOCOUTQ, SIOCATMARK 0, FIONREAD on a listener EINVAL, NULL argument EFAULT, other requests ENOTTY")
    func ioctls() throws {
        let net = try TwoCores()
        let (client, _, listener) = try net.connectedTCP(port: 5703)
        var on: Int32 = 1
        #expect(dp_ioctl_impl(client.descriptor, UInt(FIONBIO), &on) == 0)
        #expect(try client.isNonBlocking)
        var off: Int32 = 0
        #expect(dp_ioctl_impl(client.descriptor, UInt(FIONBIO), &off) == 0)
        #expect(try !client.isNonBlocking)
        _ = try client.send(Array(repeating: UInt8(7), count: 1000))
        var queued: Int32 = -1
        #expect(dp_ioctl_impl(client.descriptor, UInt(SIOCOUTQ), &queued) == 0 && queued == 1000, "unacknowledged until B runs")
        net.pump(seconds: 1) { (try? net.a.bytesUnsent(client.descriptor)) == 0 }
        #expect(dp_ioctl_impl(client.descriptor, UInt(SIOCOUTQ), &queued) == 0 && queued == 0)
        var mark: Int32 = -1
        #expect(dp_ioctl_impl(client.descriptor, UInt(SIOCATMARK), &mark) == 0 && mark == 0)
        var value: Int32 = 0
        expectC(.invalidArgument, "FIONREAD on a listener") { Int(dp_ioctl_impl(listener.descriptor, UInt(FIONREAD), &value)) }
        expectC(.badAddress, "FIONREAD with NULL") { Int(dp_ioctl_impl(client.descriptor, UInt(FIONREAD), nil)) }
        expectC(.inappropriateIOCTLForDevice, "TIOCGWINSZ") { Int(dp_ioctl_impl(client.descriptor, UInt(TIOCGWINSZ), &value)) }
        expectC(.badFileDescriptor, "ioctl on garbage") { Int(dp_ioctl_impl(123_456_789, UInt(FIONREAD), &value)) }
    }

    @Test("poll and epoll with a kernel pipe beside a socket: both reported in one call; an epoll set holds one core's sockets")
    func kernelDescriptorsBesideSockets() throws {
        let net = try TwoCores()
        let (client, server, _) = try net.connectedTCP(port: 5704)
        var pipes: [Int32] = [0, 0]
        #expect(pipe(&pipes) == 0)
        defer { close(pipes[0]); close(pipes[1]) }
        #expect(write(pipes[1], "p", 1) == 1)
        _ = try client.send(Array("s".utf8))
        net.pump(seconds: 1) { (try? net.b.bytesReadable(server.descriptor)) == 1 }
        var items = [pollfd(fd: pipes[0], events: Int16(POLLIN), revents: 0), pollfd(fd: server.descriptor, events: Int16(POLLIN), revents: 0)]
        #expect(dp_poll(&items, 2, 1000) == 2)
        #expect(items[0].revents == Int16(POLLIN) && items[1].revents == Int16(POLLIN))
        let set = dp_epoll_create1(0)
        #expect(set >= 0)
        defer { _ = dp_close(set) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 1
        #expect(dp_epoll_ctl(set, EPOLL_CTL_ADD, pipes[0], &event) == 0)
        event.data.u64 = 2
        #expect(dp_epoll_ctl(set, EPOLL_CTL_ADD, server.descriptor, &event) == 0)
        var events = [epoll_event](repeating: epoll_event(), count: 4)
        let found = dp_epoll_wait(set, &events, 4, 1000)
        #expect(found == 2 && Set(events[0..<2].map { $0.data.u64 }) == [1, 2])
        // A socket of the other core: this set watches core B's sockets.
        expectC(.invalidArgument, "a second core's socket") { Int(dp_epoll_ctl(set, EPOLL_CTL_ADD, client.descriptor, &event)) }
        expectC(.invalidArgument, "epoll_ctl on a socket as the set") { Int(dp_epoll_ctl(server.descriptor, EPOLL_CTL_ADD, pipes[0], &event)) }
        expectC(.invalidArgument, "epoll_create size 0") { Int(dp_epoll_create(0)) }
    }
}
