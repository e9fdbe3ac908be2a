import Glibc
import Sockets
import Stack
import SystemPackage
import Testing
import Wire

/// AF_INET6 datagram sockets over the loopback ports (A fd20::1 / 10.0.0.1,
/// B fd20::2 / 10.0.0.2): echo over IPv6 with fragments, a dual-stack
/// socket's v4-mapped peers, connect, v6-only and the errnos.
@Suite("AF_INET6 datagram sockets")
struct IPv6DatagramSocketTests {
    func ready() throws -> TwoCores {
        let net = try TwoCores(ipv6: true)
        #expect(net.pump { net.a.stack.isLocalIPv6Address(TwoCores.address6A) && net.b.stack.isLocalIPv6Address(TwoCores.address6B) })
        return net
    }

    /// Receives one datagram within the pump time.
    func receive(_ socket: Socket, _ net: TwoCores, seconds: Double = 3) -> (bytes: [UInt8], source: InternetSocketAddress?)? {
        var got: (bytes: [UInt8], source: InternetSocketAddress?)?
        _ = net.pump(seconds: seconds) {
            got = try? socket.receiveFrom(maximum: 70_000, flags: .dontWait)
            return got != nil
        }
        return got
    }

    @Test("echo over IPv6, 1...30000 bytes (fragments both ways), recvfrom gives sockaddr_in6, getsockname")
    func echo() throws {
        let net = try ready()
        let server = try Socket(.datagram, family: .inet6, on: net.b)
        try server.bind(IPv6SocketAddress(.unspecified, 7000))
        let client = try Socket(.datagram, family: .inet6, on: net.a)
        for size in [1, 1232, 1500, 4000, 30_000] {
            let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ size) }
            #expect(try client.send(message, to: IPv6SocketAddress(TwoCores.address6B, 7000)) == size)
            guard let (bytes, source) = receive(server, net), case .v6(let from) = source else {
                Issue.record("the server got no IPv6 datagram of \(size) bytes")
                return
            }
            #expect(bytes == message && from.address == TwoCores.address6A)
            #expect(try server.send(bytes, to: from) == size)
            let back = receive(client, net)
            #expect(back?.bytes == message && back?.source == .v6(IPv6SocketAddress(TwoCores.address6B, 7000)))
        }
        #expect(net.b.stack.counters[.ipv6FragmentsSent] > 0 && net.a.stack.counters[.ipv6FragmentsSent] > 0)
        guard case .v6(let name) = try client.socketName else {
            Issue.record("an AF_INET6 socket's name is a sockaddr_in6")
            return
        }
        #expect(name.address == .unspecified && name.port != 0)
        #expect(try server.socketName == .v6(IPv6SocketAddress(.unspecified, 7000)))
    }

    @Test("a dual-stack socket receives IPv4 datagrams from ::ffff:a.b.c.d and answers them; v6-only and AF_INET sockets keep to their family")
    func dualStack() throws {
        let net = try ready()
        let dual = try Socket(.datagram, family: .inet6, on: net.b)
        try dual.bind(IPv6SocketAddress(.unspecified, 7001))
        let client4 = try Socket(.datagram, on: net.a)
        try client4.send(Array("over ipv4".utf8), to: IPv4SocketAddress(TwoCores.addressB, 7001))
        guard let (bytes, source) = receive(dual, net), case .v6(let from) = source else {
            Issue.record("the dual-stack socket got no IPv4 datagram")
            return
        }
        #expect(bytes == Array("over ipv4".utf8))
        #expect(from == IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressA), try client4.localAddress.port))
        try dual.send(Array("back".utf8), to: from)
        var answer: (bytes: [UInt8], source: IPv4SocketAddress?)?
        #expect(net.pump { answer = try? client4.receive(flags: .dontWait); return answer != nil })
        #expect(answer?.bytes == Array("back".utf8) && answer?.source == IPv4SocketAddress(TwoCores.addressB, 7001))

        // v6-only: IPv4 datagrams find no socket (port unreachable), IPv6 ones arrive.
        let only = try Socket(.datagram, family: .inet6, on: net.b)
        try only.setIPv6Only(true)
        try only.bind(IPv6SocketAddress(.unspecified, 7002))
        let refused = try Socket(.datagram, on: net.a)
        try refused.connect(IPv4SocketAddress(TwoCores.addressB, 7002))
        try refused.send(Array("x".utf8))
        var refusal: Errno?
        #expect(net.pump {
            do throws(SocketError) { _ = try refused.receive(flags: .dontWait) } catch { refusal = error.errno }
            return refusal == .connectionRefused
        }, "a v6-only socket takes no IPv4 datagram: ICMP port unreachable, ECONNREFUSED")
        #expect(receive(only, net, seconds: 0.2) == nil)
        let client6 = try Socket(.datagram, family: .inet6, on: net.a)
        try client6.send(Array("six".utf8), to: IPv6SocketAddress(TwoCores.address6B, 7002))
        #expect(receive(only, net)?.bytes == Array("six".utf8))

        // An AF_INET socket takes no IPv6 datagram (port unreachable instead).
        let inet = try Socket(.datagram, on: net.b)
        try inet.bind(port: 7003)
        let unreachable = net.b.stack.counters[.udpClosedPort]
        try client6.send(Array("six".utf8), to: IPv6SocketAddress(TwoCores.address6B, 7003))
        #expect(net.pump { net.b.stack.counters[.udpClosedPort] > unreachable })
        expectErrno(.resourceTemporarilyUnavailable) { try inet.receive(flags: .dontWait) }
    }

    @Test("connect filters to the peer, getpeername/getsockname after connect, AF_UNSPEC dissolves it")
    func connected() throws {
        let net = try ready()
        let server = try Socket(.datagram, family: .inet6, on: net.b)
        try server.bind(IPv6SocketAddress(TwoCores.address6B, 7004))
        let client = try Socket(.datagram, family: .inet6, on: net.a)
        try client.connect(IPv6SocketAddress(TwoCores.address6B, 7004))
        #expect(try client.peerName == .v6(IPv6SocketAddress(TwoCores.address6B, 7004)))
        guard case .v6(let name) = try client.socketName else {
            Issue.record("no sockaddr_in6 name")
            return
        }
        #expect(name.address == TwoCores.address6A)
        try client.send(Array("hello".utf8))
        guard let (_, source) = receive(server, net), case .v6(let from) = source else {
            Issue.record("the bound server got nothing")
            return
        }
        #expect(from == name)
        // A stranger's datagram is not taken by the connected socket.
        let stranger = try Socket(.datagram, family: .inet6, on: net.b)
        try stranger.send(Array("noise".utf8), to: name)
        try server.send(Array("reply".utf8), to: from)
        #expect(receive(client, net)?.bytes == Array("reply".utf8))
        #expect(receive(client, net, seconds: 0.2) == nil)
        try client.disconnect()
        expectErrno(.socketNotConnected) { try client.peerName }
        // A closed IPv6 port: ICMPv6 port unreachable comes back as ECONNREFUSED.
        let refused = try Socket(.datagram, family: .inet6, on: net.a)
        try refused.connect(IPv6SocketAddress(TwoCores.address6B, 7999))
        try refused.send(Array("anyone?".utf8))
        var refusal: Errno?
        #expect(net.pump {
            do throws(SocketError) { _ = try refused.receive(flags: .dontWait) } catch { refusal = error.errno }
            return refusal == .connectionRefused
        }, "ICMPv6 port unreachable on a connected AF_INET6 socket")
        expectErrno(.addressRequired) { try client.send(Array("x".utf8)) }
    }

    @Test("async send and receiveFrom over IPv6 on the cores' executors")
    func asyncEcho() throws {
        let net = try ready()
        let served = Outcome<InternetSocketAddress>()
        let answered = Outcome<[UInt8]>()
        let b = net.b
        net.b.task {
            do {
                let server = try Socket(.datagram, family: .inet6, on: b, nonBlocking: true)
                try server.bind(IPv6SocketAddress(.unspecified, 7005))
                let (bytes, source) = try await server.receiveFrom()
                guard case .v6(let peer) = source else { return }
                try await server.send(bytes, to: peer)
                served.value = source
            } catch { served.error = error }
        }
        let a = net.a
        net.a.task {
            do {
                let client = try Socket(.datagram, family: .inet6, on: a, nonBlocking: true)
                try await client.send(Array(repeating: 5, count: 9000), to: IPv6SocketAddress(TwoCores.address6B, 7005))
                answered.value = try await client.receiveFrom().bytes
            } catch { answered.error = error }
        }
        #expect(net.pump(seconds: 5) { served.value != nil && answered.value != nil })
        #expect(answered.value == Array(repeating: 5, count: 9000))
    }

    @Test("errnos as Linux: v6-only and IPv4 peers, family mismatches, scope ids, port conflicts")
    func errnos() throws {
        let net = try ready()
        let only = try Socket(.datagram, family: .inet6, on: net.a)
        try only.setIPv6Only(true)
        let mappedB = IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressB), 9)
        expectErrno(.networkUnreachable) { try only.send(Array("x".utf8), to: mappedB) }
        expectErrno(.networkUnreachable) { try only.connect(mappedB) }
        expectErrno(.addressFamilyNotSupported) { try only.connect(IPv4SocketAddress(TwoCores.addressB, 9)) }
        expectErrno(.invalidArgument) { try only.bind(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressA), 0)) }
        let bound6 = try Socket(.datagram, family: .inet6, on: net.a)
        try bound6.bind(IPv6SocketAddress(TwoCores.address6A, 0))
        expectErrno(.networkUnreachable, "bound to an IPv6 address, sending to IPv4") { try bound6.send(Array("x".utf8), to: mappedB) }
        let inet = try Socket(.datagram, on: net.a)
        expectErrno(.addressFamilyNotSupported) { try inet.send(Array("x".utf8), to: IPv6SocketAddress(TwoCores.address6B, 9)) }
        let fresh = try Socket(.datagram, family: .inet6, on: net.a)
        let linkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        expectErrno(.invalidArgument, "link-local without a scope id") { try fresh.send(Array("x".utf8), to: IPv6SocketAddress(linkLocal, 9)) }
        expectErrno(Errno(rawValue: ENODEV)) { try fresh.send(Array("x".utf8), to: IPv6SocketAddress(linkLocal, 9, scopeID: 9)) }
        expectErrno(.networkUnreachable, "no route") { try fresh.send(Array("x".utf8), to: IPv6SocketAddress(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9)) }
        let unbound = try Socket(.datagram, family: .inet6, on: net.a)
        expectErrno(.addressNotAvailable) { try unbound.bind(IPv6SocketAddress(IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 0x99), 0)) }
        let dual = try Socket(.datagram, family: .inet6, on: net.a)
        try dual.bind(IPv6SocketAddress(.unspecified, 7010))
        let clash = try Socket(.datagram, on: net.a)
        expectErrno(.addressInUse, "a dual-stack [::] binding holds the IPv4 port too") { try clash.bind(port: 7010) }
    }

    @Test("the stack's UDP bindings: v6-only [::] and IPv4-only 0.0.0.0 share a port; dual [::] conflicts with both")
    func stackBindings() throws {
        let net = try ready()
        let stack = net.b.stack
        let v6 = try stack.udpBind(address6: .unspecified, port: 7020, v6Only: true)
        let v4 = try stack.udpBind(address: .any, port: 7020, ipv4Only: true)
        #expect(throws: StackError.self) { try stack.udpBind(address6: .unspecified, port: 7020) }
        #expect(throws: StackError.self) { try stack.udpBind(address6: TwoCores.address6B, port: 7020) }
        _ = try stack.udpBind(address6: TwoCores.address6B, port: 7021)
        _ = try stack.udpBind(address: TwoCores.addressB, port: 7021)
        #expect(throws: StackError.self) { try stack.udpBind(address6: .unspecified, port: 7021, v6Only: true) }
        stack.udpClose(v6)
        stack.udpClose(v4)
        _ = try stack.udpBind(address6: .unspecified, port: 7020)
    }
}
