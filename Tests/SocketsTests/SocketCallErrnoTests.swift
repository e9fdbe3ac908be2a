import Foundation
import Glibc
import Packets
import Sockets
import Stack
import SystemPackage
import TCP
import Testing
import Wire

/// One test per call: every errno of the seed the call can produce, in the
/// situation the seed describes (Docs/SOCKETS.md names these tests).
@Suite("errno table per call")
struct SocketCallErrnoTests {
    let stream = Int32(SOCK_STREAM.rawValue)
    let datagram = Int32(SOCK_DGRAM.rawValue)

    @Test("socket: EAFNOSUPPORT, EINVAL, EPROTONOSUPPORT, EACCES, EMFILE, ENFILE")
    func socketErrors() throws {
        var configuration = TwoCores.testConfiguration
        configuration.maximumSockets = 3
        configuration.privilegedPorts = .denied
        let net = try TwoCores(configuration: configuration, group: SocketGroup(socketLimit: 5))
        let core = net.a
        expectErrno(.addressFamilyNotSupported) { try core.socket(domain: AF_UNIX, type: stream, protocol: 0) }
        expectErrno(.addressFamilyNotSupported) { try core.socket(domain: AF_PACKET, type: datagram, protocol: 0) }
        expectErrno(.invalidArgument) { try core.socket(domain: AF_INET, type: stream | 0x100, protocol: 0) }
        expectErrno(.protocolNotSupported) { try core.socket(domain: AF_INET, type: stream, protocol: Int32(IPPROTO_UDP)) }
        expectErrno(.protocolNotSupported) { try core.socket(domain: AF_INET, type: Int32(SOCK_SEQPACKET.rawValue), protocol: 0) }
        expectErrno(.permissionDenied) { try core.socket(domain: AF_INET, type: Int32(SOCK_RAW.rawValue), protocol: 0) }
        let fd = try core.socket(domain: AF_INET, type: stream, protocol: 0)
        #expect(fd >= SocketDescriptor.base, "a descriptor, not 0 as the seed says")
        _ = try core.socket(domain: AF_INET, type: datagram, protocol: Int32(IPPROTO_UDP))
        _ = try core.socket(domain: AF_INET, type: stream | Int32(SOCK_NONBLOCK.rawValue), protocol: Int32(IPPROTO_TCP))
        expectErrno(.tooManyOpenFiles, "per-core limit 3") { try core.socket(domain: AF_INET, type: stream, protocol: 0) }
        // B may open two more, then the group's limit of 5 is reached.
        _ = try net.b.socket(domain: AF_INET, type: stream, protocol: 0)
        _ = try net.b.socket(domain: AF_INET, type: stream, protocol: 0)
        expectErrno(.tooManyOpenFilesInSystem, "group limit 5") { try net.b.socket(domain: AF_INET, type: stream, protocol: 0) }
        try core.close(fd)
        #expect(net.group.openSocketCount == 4)
    }

    @Test("bind: EACCES, EADDRINUSE, EBADF, EINVAL, ENOTSOCK, EADDRNOTAVAIL")
    func bindErrors() throws {
        var configuration = TwoCores.testConfiguration
        configuration.privilegedPorts = .denied
        let net = try TwoCores(configuration: configuration)
        let s = try Socket(.stream, on: net.a)
        expectErrno(.permissionDenied, "port 80 without CAP_NET_BIND_SERVICE") { try s.bind(port: 80) }
        try s.bind(port: 8080)
        expectErrno(.invalidArgument, "already bound") { try s.bind(port: 8081) }
        let t = try Socket(.stream, on: net.a)
        expectErrno(.addressInUse) { try t.bind(port: 8080) }
        expectErrno(.addressNotAvailable) { try t.bind(IPv4SocketAddress(IPv4Address(10, 0, 0, 99), 8082)) }
        let u = try Socket(.datagram, on: net.a)
        try u.bind(port: 8080)  // UDP and TCP ports are separate
        let v = try Socket(.datagram, on: net.a)
        expectErrno(.addressInUse) { try v.bind(port: 8080) }
        expectErrno(.badFileDescriptor, "never opened") { try net.a.bind(SocketDescriptor.base + 4000, to: .any) }
        expectErrno(.badFileDescriptor, "negative") { try net.a.bind(-1, to: .any) }
        expectErrno(.notSocket, "stdin is a kernel file") { try net.a.bind(0, to: .any) }
        try s.close()
        expectErrno(.badFileDescriptor, "closed") { try s.bind(port: 9000) }
    }

    @Test("connect: EACCES, EADDRINUSE, EAFNOSUPPORT, EAGAIN, EALREADY, EBADF, ECONNREFUSED, EINPROGRESS, EINTR, EISCONN, ENETUNREACH, ENOTSOCK, ETIMEDOUT")
    func connectErrors() throws {
        var tcp = TCPConfiguration()
        tcp.ephemeralPorts = 50000...50000
        tcp.initialRTO = .milliseconds(20)
        tcp.minimumRTO = .milliseconds(10)
        tcp.maximumSYNRetransmissions = 1
        let net = try TwoCores(tcp: tcp)
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 7000)
        try listener.listen()

        // Broadcast without SO_BROADCAST (UDP and TCP).
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.permissionDenied) { try u.connect(IPv4SocketAddress(.broadcast, 9)) }
        expectErrno(.permissionDenied) { try u.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 255), 9)) }
        try u.setOption(level: SOL_SOCKET, name: SO_BROADCAST, 1)
        try u.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 255), 9))
        let t = try Socket(.stream, on: net.a)
        expectErrno(.permissionDenied) { try t.connect(IPv4SocketAddress(.broadcast, 9)) }
        try t.setOption(level: SOL_SOCKET, name: SO_BROADCAST, 1)
        expectErrno(.networkUnreachable, "TCP is unicast only") { try t.connect(IPv4SocketAddress(.broadcast, 9)) }

        // Family, length.
        var in6 = sockaddr_in6()
        in6.sin6_family = sa_family_t(AF_INET6)
        expectErrno(.addressFamilyNotSupported) {
            try withUnsafeBytes(of: &in6) { raw in
                try net.a.connect(t.descriptor, to: try ConnectAddress.parse(raw.baseAddress!, length: raw.count))
            }
        }
        expectErrno(.addressFamilyNotSupported, "AF_UNSPEC on TCP") { try t.disconnect() }

        // No route.
        expectErrno(.networkUnreachable) { try t.connect(IPv4SocketAddress(IPv4Address(192, 168, 1, 1), 80)) }

        // Blocking connect succeeds; again: EISCONN.
        try t.connect(.b(7000))
        expectErrno(.socketIsConnected) { try t.connect(.b(7000)) }
        // The only ephemeral port toward B:7000 is taken: EAGAIN.
        let t2 = try Socket(.stream, on: net.a)
        expectErrno(.resourceTemporarilyUnavailable) { try t2.connect(.b(7000)) }
        // A local port bound explicitly to the same 4-tuple: EADDRINUSE.
        let t3 = try Socket(.stream, on: net.a)
        try t3.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
        let t4 = try Socket(.stream, on: net.a)
        try t4.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
        try t3.bind(IPv4SocketAddress(TwoCores.addressA, 40000))
        try t4.bind(IPv4SocketAddress(TwoCores.addressA, 40000))
        try t3.connect(.b(7000))
        expectErrno(.addressInUse) { try t4.connect(.b(7000)) }

        // Non-blocking: EINPROGRESS, then EALREADY while it is under way.
        let n = try Socket(.stream, on: net.a, nonBlocking: true)
        try n.bind(port: 40001)
        expectErrno(.nowInProgress) { try n.connect(.b(7000)) }
        expectErrno(.alreadyInProcess) { try n.connect(.b(7000)) }

        // Nothing listens on B:7001: ECONNREFUSED.
        let r = try Socket(.stream, on: net.a)
        try r.bind(port: 40002)
        expectErrno(.connectionRefused) { try r.connect(.b(7001)) }

        // 10.0.0.77 does not exist (ARP unanswered): ETIMEDOUT after the SYN retries.
        let x = try Socket(.stream, on: net.a)
        try x.bind(port: 40003)
        expectErrno(.timedOut) { try x.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 77), 80)) }

        // A blocking connect whose SO_SNDTIMEO passes goes on in the background: EINPROGRESS, then EALREADY.
        let slow = try Socket(.stream, on: net.a)
        try slow.bind(port: 40005)
        try slow.setTimeouts(send: 0.005)
        expectErrno(.nowInProgress) { try slow.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 79), 80)) }
        expectErrno(.alreadyInProcess) { try slow.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 79), 80)) }

                // Interrupted while waiting: EINTR.
        let i = try Socket(.stream, on: net.a)
        try i.bind(port: 40004)
        var turns = 0
        net.a.whileBlocked = { [unowned a = net.a] in
            turns += 1
            if turns == 3 { a.interrupt() }
        }
        expectErrno(.interrupted) { try i.connect(IPv4SocketAddress(IPv4Address(10, 0, 0, 78), 80)) }

        expectErrno(.badFileDescriptor) { try net.a.connect(SocketDescriptor.base + 999, to: .inet(.b(1))) }
        expectErrno(.notSocket) { try net.a.connect(1, to: .inet(.b(1))) }
    }

    @Test("listen: EADDRINUSE, EBADF, ENOTSOCK, EOPNOTSUPP")
    func listenErrors() throws {
        let net = try TwoCores()
        let one = try Socket(.stream, on: net.a)
        let two = try Socket(.stream, on: net.a)
        for s in [one, two] {
            try s.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
            try s.bind(port: 6000)
        }
        try one.listen()
        expectErrno(.addressInUse, "another socket listens on the port") { try two.listen() }
        // SO_REUSEPORT spreads listeners over cores, not two on one core.
        let p1 = try Socket(.stream, on: net.a)
        let p2 = try Socket(.stream, on: net.a)
        for s in [p1, p2] {
            try s.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, 1)
            try s.bind(port: 6001)
        }
        try p1.listen()
        expectErrno(.addressInUse, "a second listener on one core") { try p2.listen() }
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.notSupportedOnSocket) { try u.listen() }
        expectErrno(.badFileDescriptor) { try net.a.listen(SocketDescriptor.base + 77, backlog: 1) }
        expectErrno(.notSocket) { try net.a.listen(2, backlog: 1) }
    }

    @Test("accept: EAGAIN, EBADF, ENOTSOCK, EOPNOTSUPP, EINTR, EINVAL, EMFILE, ENFILE, ENOMEM")
    func acceptErrors() throws {
        var configuration = TwoCores.testConfiguration
        configuration.maximumSockets = 3
        let group = SocketGroup(socketLimit: 5)
        let net = try TwoCores(configuration: configuration, group: group)
        let listener = try Socket(.stream, on: net.b)
        expectErrno(.invalidArgument, "not listening") { try listener.accept() }
        try listener.bind(port: 5555)
        try listener.listen()
        try listener.setNonBlocking(true)
        expectErrno(.resourceTemporarilyUnavailable, "non-blocking, none waiting") { try listener.accept() }
        try listener.setNonBlocking(false)
        try listener.setTimeouts(receive: 0.05)
        expectErrno(.resourceTemporarilyUnavailable, "SO_RCVTIMEO passed") { try listener.accept() }
        try listener.setTimeouts(receive: 0)
        var turns = 0
        net.b.whileBlocked = { [unowned b = net.b] in
            turns += 1
            if turns == 5 { b.interrupt() }
        }
        expectErrno(.interrupted) { try listener.accept() }
        net.b.whileBlocked = { [unowned a = net.a] in a.runOnce() }

        // Two connections wait; B has 1 of 3 sockets open.
        let c1 = try Socket(.stream, on: net.a)
        try c1.connect(.b(5555))
        let c2 = try Socket(.stream, on: net.a)
        try c2.connect(.b(5555))
        net.pump(seconds: 0.2)
        _ = try listener.accept()
        let extra = try Socket(.datagram, on: net.b)
        expectErrno(.tooManyOpenFiles, "core limit 3") { try listener.accept() }
        try extra.close()
        // Group: A holds 2, B holds 2, limit 5 → the fifth on A.
        let g1 = try Socket(.datagram, on: net.a)
        expectErrno(.tooManyOpenFilesInSystem, "group limit 5") { try listener.accept() }
        try g1.close()
        let (accepted, _) = try listener.accept()  // the connection stayed queued through the refusals
        try accepted.close()

        let u = try Socket(.datagram, on: net.b)
        _ = u
        expectErrno(.notSupportedOnSocket) { try net.b.accept(u.descriptor) }
        expectErrno(.badFileDescriptor) { try net.b.accept(SocketDescriptor.base + 1234) }
        expectErrno(.notSocket) { try net.b.accept(0) }
    }

    @Test("send/sendto: EAGAIN, EBADF, ECONNRESET, EDESTADDRREQ, EINTR, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPIPE, EACCES")
    func sendErrors() throws {
        let net = try TwoCores(poolSize: 512)
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.addressRequired) { try u.send([1, 2, 3]) }
        expectErrno(.messageTooLong) { try u.send([UInt8](repeating: 0, count: 65_508), to: .b(9)) }
        expectErrno(.permissionDenied, "broadcast without SO_BROADCAST") { try u.send([1], to: IPv4SocketAddress(.broadcast, 9)) }
        expectErrno(.notSupportedOnSocket) { try u.send([1], flags: .outOfBand, to: .b(9)) }
        expectErrno(.invalidArgument) { try u.send([1], flags: .peek, to: .b(9)) }
        // The pool is exhausted: ENOBUFS.
        var held: [PacketBuffer] = []
        while let buffer = net.pool.allocate() { held.append(buffer) }
        expectErrno(.noBufferSpace) { try u.send([1, 2, 3], to: .b(9)) }
        for buffer in held { buffer.free() }

        let t = try Socket(.stream, on: net.a)
        expectErrno(.socketNotConnected) { try t.send([1]) }
        expectErrno(.socketNotConnected, "sendto with address on unconnected TCP") { try t.send([1], to: .b(1)) }

        var small = TwoCores.testConfiguration
        small.defaultSendBufferSize = 4096
        small.defaultReceiveBufferSize = 4096
        let net2 = try TwoCores(configuration: small)
        let (client, server, _) = try net2.connectedTCP()
        expectErrno(.socketIsConnected) { try client.send([1], to: .b(5000)) }
        // Fill the send buffer while B does not read: EAGAIN (non-blocking), EAGAIN (SO_SNDTIMEO), EINTR.
        try client.setNonBlocking(true)
        var sent = 0
        while let n = try? client.send([UInt8](repeating: 7, count: 4096)), n > 0 { sent += n; net2.pump(seconds: 0.01) }
        #expect(sent >= 4096)
        // Let every ACK settle (B's window closes), then fill what space that freed.
        net2.pump(seconds: 0.3)
        for _ in 0..<20 { net2.a.runOnce() }  // ACKs still in A's ring are taken now, not during the timed send
        while let n = try? client.send([UInt8](repeating: 7, count: 4096)), n > 0 { sent += n }
        expectErrno(.resourceTemporarilyUnavailable) { try client.send([1]) }
        try client.setNonBlocking(false)
        expectErrno(.resourceTemporarilyUnavailable, "MSG_DONTWAIT") { try client.send([1], flags: .dontWait) }
        net2.a.whileBlocked = {}  // B must not read (nor run)
        try client.setTimeouts(send: 0.05)
        expectErrno(.resourceTemporarilyUnavailable, "SO_SNDTIMEO") { try client.send([1]) }
        try client.setTimeouts(send: 0)
        var turns = 0
        net2.a.whileBlocked = { [unowned a = net2.a] in
            turns += 1
            if turns == 4 { a.interrupt() }
        }
        expectErrno(.interrupted) { try client.send([1]) }
        // Shut down for writing: EPIPE (no SIGPIPE with MSG_NOSIGNAL).
        try client.shutdown(Int32(SHUT_WR))
        expectErrno(.brokenPipe) { try client.send([1], flags: .noSignal) }
        // B resets: A's next send reports ECONNRESET.
        net2.a.whileBlocked = { [unowned b = net2.b] in b.runOnce() }
        try server.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
        let (c2, s2, _) = try net2.connectedTCP(port: 5001)
        try s2.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
        try s2.close()
        net2.pump(seconds: 0.2)
        expectErrno(.connectionReset) { try c2.send([1]) }
        expectErrno(.brokenPipe, "after the reset was reported") { try c2.send([1], flags: .noSignal) }

        expectErrno(.badFileDescriptor) { try net.a.send(SocketDescriptor.base + 5, UnsafeRawBufferPointer(start: nil, count: 0)) }
        expectErrno(.notSocket) { try net.a.send(0, UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    @Test("recv/recvfrom: EAGAIN, EBADF, ECONNREFUSED, EINTR, EINVAL, ENOTCONN, ENOTSOCK")
    func receiveErrors() throws {
        let net = try TwoCores()
        let u = try Socket(.datagram, on: net.a)
        try u.bind(port: 4000)
        try u.setNonBlocking(true)
        expectErrno(.resourceTemporarilyUnavailable) { try u.receive() }
        try u.setNonBlocking(false)
        expectErrno(.resourceTemporarilyUnavailable, "MSG_DONTWAIT") { try u.receive(flags: .dontWait) }
        try u.setTimeouts(receive: 0.05)
        expectErrno(.resourceTemporarilyUnavailable, "SO_RCVTIMEO") { try u.receive() }
        try u.setTimeouts(receive: 0)
        var turns = 0
        net.a.whileBlocked = { [unowned a = net.a] in
            turns += 1
            if turns == 3 { a.interrupt() }
        }
        expectErrno(.interrupted) { try u.receive() }
        net.a.whileBlocked = { [unowned b = net.b] in b.runOnce() }
        expectErrno(.invalidArgument) { try u.receive(flags: .outOfBand) }
        // Connected to a port where nothing listens: ICMP port unreachable → ECONNREFUSED.
        try u.connect(.b(4999))
        try u.send([1, 2, 3])
        try u.setTimeouts(receive: 1)
        expectErrno(.connectionRefused) { try u.receive() }

        let t = try Socket(.stream, on: net.a)
        expectErrno(.socketNotConnected) { try t.receive() }
        let (client, _, _) = try net.connectedTCP(port: 5002)
        _ = client
        // A listener refuses SYNs to 5003? No: RST to a refused connect then recv: ECONNREFUSED via non-blocking connect.
        let n = try Socket(.stream, on: net.a, nonBlocking: true)
        expectErrno(.nowInProgress) { try n.connect(.b(5003)) }
        net.pump(seconds: 0.2)
        expectErrno(.connectionRefused, "the refused connect is reported by recv") { try n.receive() }
        expectErrno(.badFileDescriptor) { try net.a.receive(SocketDescriptor.base + 5, into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        expectErrno(.notSocket) { try net.a.receive(0, into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
    }

    @Test("setsockopt: EBADF, EDOM, EINVAL, EISCONN, ENOPROTOOPT, ENOTSOCK")
    func setOptionErrors() throws {
        let net = try TwoCores(configuration: TwoCores.testConfiguration)
        let s = try Socket(.stream, on: net.a)
        expectErrno(.outOfDomain, "tv_usec out of range") {
            try s.setOption(level: SOL_SOCKET, name: SO_RCVTIMEO, value: timeval(tv_sec: 1, tv_usec: 2_000_000))
        }
        expectErrno(.outOfDomain, "too large") {
            try s.setOption(level: SOL_SOCKET, name: SO_SNDTIMEO, value: timeval(tv_sec: Int.max, tv_usec: 0))
        }
        expectErrno(.invalidArgument, "value too short") { try s.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: UInt8(1)) }
        expectErrno(.invalidArgument, "IP_TTL 0") { try s.setOption(level: Int32(IPPROTO_IP), name: IP_TTL, 0) }
        expectErrno(.invalidArgument, "TCP_MAXSEG 10") { try s.setOption(level: Int32(IPPROTO_TCP), name: TCP_MAXSEG, 10) }
        expectErrno(.protocolNotAvailable, "unknown option") { try s.setOption(level: SOL_SOCKET, name: 9999, 1) }
        expectErrno(.protocolNotAvailable, "unknown level") { try s.setOption(level: 77, name: 1, 1) }
        expectErrno(.protocolNotAvailable, "read-only") { try s.setOption(level: SOL_SOCKET, name: SO_ERROR, 1) }
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.protocolNotAvailable, "TCP option on UDP") { try u.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, 1) }
        // Nothing is reserved: a large SO_RCVBUF is only a limit (charged as data arrives).
        try s.setOption(level: SOL_SOCKET, name: SO_RCVBUF, 8 << 20)
        let (client, _, _) = try net.connectedTCP()
        expectErrno(.socketIsConnected, "TCP_MAXSEG after the handshake") { try client.setOption(level: Int32(IPPROTO_TCP), name: TCP_MAXSEG, 536) }
        try client.shutdown(Int32(SHUT_RDWR))
        expectErrno(.invalidArgument, "shut down") { try client.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, 1) }
        expectErrno(.badFileDescriptor) { try net.a.setOption(SocketDescriptor.base + 5, level: SOL_SOCKET, name: SO_REUSEADDR, value: UnsafeRawBufferPointer(start: nil, count: 0)) }
        expectErrno(.notSocket) { try net.a.setOption(0, level: SOL_SOCKET, name: SO_REUSEADDR, value: UnsafeRawBufferPointer(start: nil, count: 0)) }
    }

    @Test("getsockopt: EBADF, EINVAL, ENOPROTOOPT, ENOTSOCK; truncation and length")
    func getOptionErrors() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a)
        expectErrno(.protocolNotAvailable) { try s.option(level: SOL_SOCKET, name: 9999) }
        expectErrno(.protocolNotAvailable) { try s.option(level: 77, name: 1) }
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.protocolNotAvailable) { try u.option(level: Int32(IPPROTO_TCP), name: TCP_NODELAY) }
        let (client, _, _) = try net.connectedTCP()
        try client.shutdown(Int32(SHUT_RDWR))
        expectErrno(.invalidArgument, "shut down") { try client.option(level: Int32(IPPROTO_TCP), name: TCP_MAXSEG) }
        expectErrno(.badFileDescriptor) { try net.a.getOption(SocketDescriptor.base + 5, level: SOL_SOCKET, name: SO_TYPE, into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        expectErrno(.notSocket) { try net.a.getOption(0, level: SOL_SOCKET, name: SO_TYPE, into: UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        // Truncation: 2 bytes of a 4-byte int; the full length is reported.
        try s.setOption(level: SOL_SOCKET, name: SO_RCVBUF, 0x12345)
        var two: UInt16 = 0
        let full = try withUnsafeMutableBytes(of: &two) { raw in
            try net.a.getOption(s.descriptor, level: SOL_SOCKET, name: SO_RCVBUF, into: raw)
        }
        #expect(full == 4)
        #expect(two == UInt16(truncatingIfNeeded: 0x12345 * 2))
    }

    @Test("close, shutdown, getsockname, getpeername: EBADF, ENOTSOCK, ENOTCONN, EINVAL")
    func otherCallErrors() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a)
        expectErrno(.socketNotConnected) { try s.shutdown(Int32(SHUT_WR)) }
        expectErrno(.invalidArgument) { try s.shutdown(7) }
        expectErrno(.socketNotConnected) { try s.peerAddress }
        #expect(try s.localAddress == .any)
        try s.close()
        expectErrno(.badFileDescriptor) { try s.close() }
        expectErrno(.notSocket) { try net.a.close(0) }
        expectErrno(.badFileDescriptor) { try net.a.localAddress(SocketDescriptor.base + 3) }
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.socketNotConnected) { try u.shutdown(Int32(SHUT_RD)) }
    }

    @Test("a descriptor used from another thread is EBADF")
    func otherThreadIsBadDescriptor() throws {
        let net = try TwoCores()
        let s = try Socket(.datagram, on: net.a)
        let descriptor = s.descriptor
        nonisolated(unsafe) let core = net.a
        nonisolated(unsafe) var result: Errno?
        let thread = Thread {
            do { try core.bind(descriptor, to: .any) } catch { result = (error as? SocketError)?.errno }
        }
        thread.start()
        while !thread.isFinished { usleep(1000) }
        #expect(result == .badFileDescriptor)
        // And a descriptor of another core used on this one.
        expectErrno(.badFileDescriptor) { try net.b.bind(descriptor, to: .any) }
    }
}
