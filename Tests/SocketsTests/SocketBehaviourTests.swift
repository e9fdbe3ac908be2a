import Glibc
import Sockets
@testable import Stack
import SystemPackage
@testable import TCP
import Testing
import Wire

/// Counts SIGPIPEs raised by send (the handler replaces the default, which would end the test run).
nonisolated(unsafe) var sigpipeCount: Int32 = 0

@Suite("socket behaviour")
struct SocketBehaviourTests {
    @Test("UDP: sendto/recvfrom with source, connect filters to the peer, AF_UNSPEC dissolves, reconnect changes the peer")
    func udpConnectFiltering() throws {
        let net = try TwoCores()
        let server = try Socket(.datagram, on: net.b)
        try server.bind(port: 9000)
        let other = try Socket(.datagram, on: net.a)
        try other.bind(port: 9100)
        let client = try Socket(.datagram, on: net.a)
        try client.bind(port: 9200)
        try client.setTimeouts(receive: 1)

        try client.send(Array("hello".utf8), to: .b(9000))
        let (bytes, source) = try server.receive()
        #expect(bytes == Array("hello".utf8))
        #expect(source == .a(9200))

        // Connected to B:9000, datagrams from B:9001 are not received.
        try client.connect(.b(9000))
        #expect(try client.peerAddress == .b(9000))
        let stranger = try Socket(.datagram, on: net.b)
        try stranger.bind(port: 9001)
        try stranger.send([9], to: .a(9200))
        try server.send([1], to: .a(9200))
        let (first, from) = try client.receive()
        #expect(first == [1] && from == .b(9000), "only the peer's datagram")
        try client.send([2])  // to the default peer
        #expect(try server.receive().bytes == [2])

        // AF_UNSPEC dissolves: the stranger is heard again, send needs an address.
        try client.disconnect()
        expectErrno(.socketNotConnected) { try client.peerAddress }
        expectErrno(.addressRequired) { try client.send([3]) }
        try stranger.send([4], to: .a(9200))
        #expect(try client.receive().bytes == [4])

        // Reconnect to another peer.
        try client.connect(.b(9001))
        try stranger.send([5], to: .a(9200))
        #expect(try client.receive().source == .b(9001))
    }

    @Test("UDP: MSG_PEEK keeps the datagram, MSG_TRUNC returns its real length, a short buffer truncates")
    func udpPeekAndTruncate() throws {
        let net = try TwoCores()
        let server = try Socket(.datagram, on: net.b)
        try server.bind(port: 9000)
        try server.setTimeouts(receive: 1)
        let client = try Socket(.datagram, on: net.a)
        try client.send(Array(0..<100), to: .b(9000))
        let peeked = try server.receive(maximum: 10, flags: .peek)
        #expect(peeked.bytes == Array(0..<10))
        var buffer = [UInt8](repeating: 0, count: 10)
        let result = try buffer.withUnsafeMutableBytes { try server.receive(into: $0, flags: .truncate) }
        #expect(result.count == 100, "MSG_TRUNC: the datagram's real length")
        #expect(buffer == Array(0..<10))
        try server.setNonBlocking(true)
        expectErrno(.resourceTemporarilyUnavailable, "the rest of a truncated datagram is gone") { try server.receive() }
    }

    @Test("TCP: blocking transfer both ways, recv returns 0 after the peer's orderly shutdown, names of both ends")
    func tcpTransferAndOrderlyShutdown() throws {
        let net = try TwoCores()
        let (client, server, listener) = try net.connectedTCP(port: 5000)
        #expect(try client.peerAddress == .b(5000))
        #expect(try server.localAddress == .b(5000))
        #expect(try server.peerAddress == (try client.localAddress))
        #expect(try listener.option(level: SOL_SOCKET, name: SO_ACCEPTCONN) == 1)
        #expect(try client.option(level: SOL_SOCKET, name: SO_TYPE) == Int32(SOCK_STREAM.rawValue))

        let message = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try client.send(message) == message.count, "a blocking send queues everything")
        var received: [UInt8] = []
        while received.count < message.count {
            received += try server.receive(maximum: 65_536).bytes
        }
        #expect(received == message)

        // MSG_WAITALL waits for the whole request.
        try server.send(Array(repeating: 1, count: 3000))
        var buffer = [UInt8](repeating: 0, count: 3000)
        let all = try buffer.withUnsafeMutableBytes { try client.receive(into: $0, flags: .waitAll) }
        #expect(all.count == 3000)

        try client.shutdown(Int32(SHUT_WR))
        #expect(try server.receive().bytes.isEmpty, "0 bytes: end of stream")
        try server.send([42])
        #expect(try client.receive().bytes == [42], "the other direction still works")
        try server.close()
        #expect(try client.receive().bytes.isEmpty)
    }

    @Test("TCP: a refused non-blocking connect reports ECONNREFUSED through readiness and SO_ERROR")
    func nonBlockingConnectRefused() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a, nonBlocking: true)
        expectErrno(.nowInProgress) { try s.connect(.b(4444)) }
        var fds = [pollfd(fd: s.descriptor, events: Int16(POLLOUT), revents: 0)]
        let ready = try fds.withUnsafeMutableBufferPointer { try net.a.poll($0, timeoutMilliseconds: 1000) }
        #expect(ready == 1)
        #expect(fds[0].revents & Int16(POLLERR) != 0)
        #expect(try s.option(level: SOL_SOCKET, name: SO_ERROR) == Errno.connectionRefused.rawValue)
        #expect(try s.option(level: SOL_SOCKET, name: SO_ERROR) == 0, "SO_ERROR clears once read")
    }

    @Test("TCP: a successful non-blocking connect becomes writable with SO_ERROR 0")
    func nonBlockingConnectSucceeds() throws {
        let net = try TwoCores()
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 4445)
        try listener.listen()
        let s = try Socket(.stream, on: net.a, nonBlocking: true)
        expectErrno(.nowInProgress) { try s.connect(.b(4445)) }
        var fds = [pollfd(fd: s.descriptor, events: Int16(POLLOUT), revents: 0)]
        let ready = try fds.withUnsafeMutableBufferPointer { try net.a.poll($0, timeoutMilliseconds: 1000) }
        #expect(ready == 1 && fds[0].revents == Int16(POLLOUT))
        #expect(try s.option(level: SOL_SOCKET, name: SO_ERROR) == 0)
        expectErrno(.socketIsConnected) { try s.connect(.b(4445)) }
    }

    @Test("EPIPE after shutdown raises SIGPIPE unless MSG_NOSIGNAL")
    func brokenPipeSignal() throws {
        var configuration = TwoCores.testConfiguration
        configuration.raisesSIGPIPE = true
        let net = try TwoCores(configuration: configuration)
        let previous = signal(SIGPIPE) { _ in sigpipeCount += 1 }
        defer { signal(SIGPIPE, previous) }
        let (client, _, _) = try net.connectedTCP()
        try client.shutdown(Int32(SHUT_WR))
        let before = sigpipeCount
        expectErrno(.brokenPipe) { try client.send([1], flags: .noSignal) }
        #expect(sigpipeCount == before, "MSG_NOSIGNAL: no signal")
        expectErrno(.brokenPipe) { try client.send([1]) }
        #expect(sigpipeCount == before + 1, "SIGPIPE raised")
    }

    @Test("options: set values read back; SO_RCVBUF doubled as Linux and fixing the ring; TCP_NODELAY and keepalive reach the connection")
    func optionRoundTrip() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a)
        for (level, name, value) in [(SOL_SOCKET, SO_REUSEADDR, Int32(1)), (SOL_SOCKET, SO_REUSEPORT, 1),
                                     (SOL_SOCKET, SO_KEEPALIVE, 1), (SOL_SOCKET, SO_BROADCAST, 1),
                                     (Int32(IPPROTO_IP), IP_TTL, 17), (Int32(IPPROTO_IP), IP_TOS, 0x10),
                                     (Int32(IPPROTO_TCP), TCP_NODELAY, 1), (Int32(IPPROTO_TCP), TCP_MAXSEG, 1000),
                                     (Int32(IPPROTO_TCP), TCP_KEEPIDLE, 30), (Int32(IPPROTO_TCP), TCP_KEEPINTVL, 5),
                                     (Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)] {
            try s.setOption(level: level, name: name, value)
            #expect(try s.option(level: level, name: name) == value, "level \(level) option \(name)")
        }
        try s.setOption(level: SOL_SOCKET, name: SO_RCVBUF, 100_000)
        #expect(try s.option(level: SOL_SOCKET, name: SO_RCVBUF) == 200_000)
        try s.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 7))
        try s.setTimeouts(receive: 1.5)
        var time = timeval()
        _ = try withUnsafeMutableBytes(of: &time) { try net.a.getOption(s.descriptor, level: SOL_SOCKET, name: SO_RCVTIMEO, into: $0) }
        #expect(time.tv_sec == 1 && time.tv_usec == 500_000)

        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 5100)
        try listener.listen()
        try s.connect(.b(5100))
        #expect(try s.option(level: Int32(IPPROTO_TCP), name: TCP_MAXSEG) <= 1000, "the MSS is capped by TCP_MAXSEG")
        let id = try #require(try net.a.connectionID(of: s.descriptor))
        let options = try #require(net.a.stack.tcp.connection(id.id)?.options)
        #expect(options.noDelay && options.keepAlive && options.keepAliveCount == 3)
        #expect(options.timeToLive == 17 && options.typeOfService == 0x10)
        // SO_RCVBUF fixed the receive ring (no auto-tuning, as Linux locks
        // it); SO_SNDBUF was not set, so the send ring may still grow.
        #expect(options.receiveBufferSize == 200_000 && !options.receiveBufferGrows && options.sendBufferGrows)
        let plain = try Socket(.stream, on: net.a)
        try plain.connect(.b(5100))
        let plainID = try #require(try net.a.connectionID(of: plain.descriptor))
        let plainOptions = try #require(net.a.stack.tcp.connection(plainID.id)?.options)
        #expect(plainOptions.receiveBufferGrows && plainOptions.sendBufferGrows)
    }

    @Test("TCP_CONGESTION: reno and cubic as Linux names them (newreno accepted), ENOENT for others, switched on a live connection")
    func congestionControlOption() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a)
        func name(_ socket: Socket, room: Int = 32) throws -> (String, Int) {
            var field = [UInt8](repeating: 0xEE, count: room)
            let full = try field.withUnsafeMutableBytes {
                try net.a.getOption(socket.descriptor, level: Int32(IPPROTO_TCP), name: TCP_CONGESTION, into: $0)
            }
            return (String(decoding: field.prefix { $0 != 0 && $0 != 0xEE }, as: UTF8.self), full)
        }
        func set(_ socket: Socket, _ text: String) throws {
            let bytes = Array(text.utf8)
            try bytes.withUnsafeBytes { raw in
                try net.a.setOption(socket.descriptor, level: Int32(IPPROTO_TCP), name: TCP_CONGESTION, value: raw)
            }
        }
        #expect(try name(s) == ("reno", 16), "the default, in a 16-byte field (TCP_CA_NAME_MAX)")
        try set(s, "cubic")
        #expect(try name(s).0 == "cubic")
        #expect(try name(s, room: 3).0 == "cub", "truncated to the caller's length")
        try set(s, "newreno")
        #expect(try name(s).0 == "reno")
        expectErrno(.noSuchFileOrDirectory, "unknown algorithm") { try set(s, "bbr") }
        let u = try Socket(.datagram, on: net.a)
        expectErrno(.protocolNotAvailable, "on UDP") { try set(u, "cubic") }

        // Chosen before connect, and switched on the live connection.
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 5101)
        try listener.listen()
        try set(s, "cubic")
        try s.connect(.b(5101))
        let id = try #require(try net.a.connectionID(of: s.descriptor))
        #expect(net.a.stack.tcp.connection(id.id)?.options.congestionControl == .cubic)
        try set(s, "reno")
        #expect(net.a.stack.tcp.connection(id.id)?.options.congestionControl == .newReno)
        #expect(net.a.stack.tcp.connection(id.id)?.congestion.algorithm == .newReno)
    }

    @Test("bind: port 0 is ephemeral, SO_REUSEPORT lets two cores listen on one port, privileged ports need the capability")
    func bindPolicies() throws {
        let net = try TwoCores()
        let s = try Socket(.stream, on: net.a)
        try s.bind(port: 0)
        #expect(try s.localAddress.port >= 49152)
        // Two cores (A and B) of one group on port 7777: EADDRINUSE without SO_REUSEPORT, fine with it.
        let a1 = try Socket(.stream, on: net.a)
        try a1.bind(port: 7777)
        let b1 = try Socket(.stream, on: net.b)
        expectErrno(.addressInUse) { try b1.bind(port: 7777) }
        try a1.close()
        let a2 = try Socket(.stream, on: net.a)
        let b2 = try Socket(.stream, on: net.b)
        for x in [a2, b2] {
            try x.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, 1)
            try x.bind(port: 7777)
            try x.listen()
        }
        var configuration = TwoCores.testConfiguration
        configuration.privilegedPorts = .capability
        let root = try TwoCores(configuration: configuration)
        let p = try Socket(.datagram, on: root.a)
        if geteuid() == 0 {
            try p.bind(port: 7)  // root has CAP_NET_BIND_SERVICE
        } else {
            expectErrno(.permissionDenied) { try p.bind(port: 7) }
        }
    }

    @Test("poll and the interest set over 1000 idle connections report only the ready one")
    func readinessAtScale() throws {
        let net = try TwoCores(poolSize: 8192)
        var small = TwoCores.testConfiguration
        small.defaultReceiveBufferSize = 8192
        small.defaultSendBufferSize = 8192
        let listener = try Socket(.stream, on: net.b, nonBlocking: true)
        try listener.bind(port: 8000)
        try listener.listen(backlog: 2048)
        let set = net.b.makeInterestSet()
        try set.add(listener.descriptor, events: .input, userData: 1)
        var clients: [Socket] = []
        var servers: [Socket] = []
        let count = 1000
        for _ in 0..<count {
            let c = try Socket(.stream, on: net.a, nonBlocking: true)
            expectErrno(.nowInProgress) { try c.connect(.b(8000)) }
            clients.append(c)
        }
        expectErrno(.fileExists, "added twice") { try set.add(listener.descriptor, events: .input) }
        let stray = try Socket(.datagram, on: net.b)
        expectErrno(.noSuchFileOrDirectory, "not in the set") { try set.remove(stray.descriptor) }
        expectErrno(.noSuchFileOrDirectory, "not in the set") { try set.modify(stray.descriptor, events: .input) }
        try stray.close()
        var events = [SocketInterestSet.Event](repeating: .init(descriptor: 0, events: [], userData: 0), count: 64)
        let accepted = net.pump(seconds: 20) {
            while let (s, _) = try? listener.accept() {
                try? set.add(s.descriptor, events: .input, userData: UInt64(s.descriptor))
                servers.append(s)
            }
            return servers.count == count
        }
        #expect(accepted, "\(servers.count) of \(count) accepted")
        // Everything idle: no event.
        let idle = try events.withUnsafeMutableBufferPointer { try set.wait(into: $0, timeoutMilliseconds: 0) }
        #expect(idle == 0)
        try clients[500].setNonBlocking(false)
        try clients[500].send([7])
        let n = try events.withUnsafeMutableBufferPointer { try set.wait(into: $0, timeoutMilliseconds: 1000) }
        #expect(n == 1)
        let clientName = try clients[500].localAddress
        let target = try servers.first { try $0.peerAddress == clientName }!
        #expect(events[0].descriptor == target.descriptor && events[0].events.contains(PollEvents.input))
        // poll over all server sockets agrees.
        var fds = servers.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        #expect(try fds.withUnsafeMutableBufferPointer { try net.b.poll($0, timeoutMilliseconds: 0) } == 1)
        // Level-triggered: still reported until read.
        #expect(try events.withUnsafeMutableBufferPointer { try set.wait(into: $0, timeoutMilliseconds: 0) } == 1)
        _ = try target.receive()
        #expect(try events.withUnsafeMutableBufferPointer { try set.wait(into: $0, timeoutMilliseconds: 0) } == 0)
    }

    @Test("SO_LINGER 0 resets the connection at close; the peer's recv sees ECONNRESET")
    func lingerZeroResets() throws {
        let net = try TwoCores()
        let (client, server, _) = try net.connectedTCP()
        try server.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
        try server.close()
        try client.setTimeouts(receive: 1)
        expectErrno(.connectionReset) { try client.receive() }
        #expect(try client.receive().bytes.isEmpty, "after the error, end of stream")
    }

    @Test("an interrupt from another thread ends a blocking recv with EINTR")
    func interruptFromAnotherThread() throws {
        let net = try TwoCores()
        let u = try Socket(.datagram, on: net.a)
        try u.bind(port: 3000)
        let coreID = net.a.coreID
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            usleep(50_000)
            SocketCore.interrupt(coreID: Int(bitPattern: argument))
            return nil
        }, UnsafeMutableRawPointer(bitPattern: coreID == 0 ? 0 : coreID))
        defer { pthread_join(thread, nil) }
        try u.setTimeouts(receive: 5)
        expectErrno(.interrupted) { try u.receive() }
    }
}
