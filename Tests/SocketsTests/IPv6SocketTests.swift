import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// AF_INET6 stream sockets over the loopback ports (A fd20::1, B fd20::2,
/// and 10.0.0.1 / 10.0.0.2 on the same ports for the dual-stack cases).
@Suite("AF_INET6 sockets")
struct IPv6SocketTests {
    static let b6 = IPv6SocketAddress(TwoCores.address6B, 0)

    func ready() throws -> TwoCores {
        let net = try TwoCores(ipv6: true)
        #expect(net.pump { net.a.stack.isLocalIPv6Address(TwoCores.address6A) && net.b.stack.isLocalIPv6Address(TwoCores.address6B) })
        return net
    }

    @Test("handshake, 256 KB each way, getsockname/getpeername as sockaddr_in6, orderly close")
    func transfer() throws {
        let net = try ready()
        let listener = try Socket(.stream, family: .inet6, on: net.b)
        try listener.setIPv6Only(true)
        try listener.bind(IPv6SocketAddress(TwoCores.address6B, 6000))
        try listener.listen()
        let client = try Socket(.stream, family: .inet6, on: net.a)
        try client.connect(IPv6SocketAddress(TwoCores.address6B, 6000))
        let (server, peer) = try listener.acceptPeer()
        guard case .v6(let peer6) = peer, case .v6(let name) = try client.socketName,
              case .v6(let remote) = try client.peerName else {
            Issue.record("AF_INET6 sockets give sockaddr_in6 addresses")
            return
        }
        #expect(peer6.address == TwoCores.address6A && peer6.port == name.port && name.address == TwoCores.address6A)
        #expect(remote == IPv6SocketAddress(TwoCores.address6B, 6000))
        #expect(try server.option(level: SOL_SOCKET, name: SO_DOMAIN) == AF_INET6)
        let message = (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for (from, to) in [(client, server), (server, client)] {
            var sent = 0
            var received: [UInt8] = []
            try from.setNonBlocking(true)
            try to.setNonBlocking(true)
            #expect(net.pump(seconds: 10) {
                if sent < message.count, let n = try? from.send(message[sent...]) { sent += n }
                while let (bytes, _) = try? to.receive(), !bytes.isEmpty { received += bytes }
                return received.count == message.count
            })
            #expect(received == message)
        }
        try client.close()
        #expect(net.pump { (try? server.receive())?.bytes.isEmpty == true })
        try server.close()
    }

    @Test("a dual-stack [::] listener accepts IPv4 clients as ::ffff:a.b.c.d and IPv6 clients")
    func dualStack() throws {
        let net = try ready()
        let listener = try Socket(.stream, family: .inet6, on: net.b)
        try listener.bind(IPv6SocketAddress(.unspecified, 6001))
        try listener.listen()
        #expect(try listener.option(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY) == 0)
        let over4 = try Socket(.stream, on: net.a)
        try over4.connect(IPv4SocketAddress(TwoCores.addressB, 6001))
        let (_, peer4) = try listener.acceptPeer()
        #expect(peer4 == .v6(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressA), try over4.localAddress.port)))
        let over6 = try Socket(.stream, family: .inet6, on: net.a)
        try over6.connect(IPv6SocketAddress(TwoCores.address6B, 6001))
        let (child6, peer6) = try listener.acceptPeer()
        #expect(peer6 == .v6(IPv6SocketAddress(TwoCores.address6A, try over6.socketName.port)))
        #expect(try child6.socketName == .v6(IPv6SocketAddress(TwoCores.address6B, 6001)))
        // An AF_INET6 client reaches an IPv4 server through a v4-mapped address.
        let mapped = try Socket(.stream, family: .inet6, on: net.a)
        try mapped.connect(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressB), 6001))
        let (_, peerMapped) = try listener.acceptPeer()
        #expect(try mapped.socketName == .v6(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressA), peerMapped.port)))
        #expect(net.b.stack.counters[.ipv6Received] > 0 && net.b.stack.counters[.ipv4Received] > 0)
    }

    @Test("async connect and accept over IPv6 on the cores' executors")
    func asyncOverIPv6() throws {
        let net = try ready()
        let listener = try Socket(.stream, family: .inet6, on: net.b)
        try listener.bind(IPv6SocketAddress(.unspecified, 6003))
        try listener.listen()
        let served = Outcome<InternetSocketAddress>()
        let connected = Outcome<InternetSocketAddress>()
        net.b.task {
            do { served.value = try await listener.acceptPeer().peer } catch { served.error = error }
        }
        let a = net.a
        net.a.task {
            do {
                let client = try Socket(.stream, family: .inet6, on: a)
                try await client.connect(IPv6SocketAddress(TwoCores.address6B, 6003))
                connected.value = try client.peerName
            } catch { connected.error = error }
        }
        #expect(net.pump(seconds: 5) { served.value != nil && connected.value != nil })
        #expect(connected.value == .v6(IPv6SocketAddress(TwoCores.address6B, 6003)))
        if case .v6(let peer) = served.value { #expect(peer.address == TwoCores.address6A) } else { Issue.record("no IPv6 peer") }
    }

    @Test("IPV6_V6ONLY, family mismatches and scope ids give Linux's errnos")
    func errnos() throws {
        let net = try ready()
        let v6only = try Socket(.stream, family: .inet6, on: net.b)
        try v6only.setIPv6Only(true)
        try v6only.bind(IPv6SocketAddress(.unspecified, 6002))
        try v6only.listen()
        expectErrno(.invalidArgument, "IPV6_V6ONLY after bind") { try v6only.setIPv6Only(false) }
        let client4 = try Socket(.stream, on: net.a)
        expectErrno(.connectionRefused, "a v6-only listener takes no IPv4 client") {
            try client4.connect(IPv4SocketAddress(TwoCores.addressB, 6002))
        }
        let only = try Socket(.stream, family: .inet6, on: net.a)
        try only.setIPv6Only(true)
        expectErrno(.networkUnreachable) { try only.connect(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressB), 6002)) }
        expectErrno(.invalidArgument) { try only.bind(IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressA), 0)) }
        let inet = try Socket(.stream, on: net.a)
        expectErrno(.addressFamilyNotSupported) { try inet.bind(IPv6SocketAddress(TwoCores.address6A, 0)) }
        expectErrno(.addressFamilyNotSupported) { try inet.connect(IPv6SocketAddress(TwoCores.address6B, 6002)) }
        expectErrno(.protocolNotAvailable) { try inet.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, 1) }
        let inet6 = try Socket(.stream, family: .inet6, on: net.a)
        expectErrno(.addressFamilyNotSupported) { try inet6.bind(IPv4SocketAddress(TwoCores.addressA, 0)) }
        expectErrno(.addressFamilyNotSupported) { try inet6.connect(IPv4SocketAddress(TwoCores.addressB, 6002)) }
        expectErrno(.addressNotAvailable) { try inet6.bind(IPv6SocketAddress(IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 0x99), 0)) }
        let linkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        expectErrno(.invalidArgument, "link-local without a scope id") { try inet6.connect(IPv6SocketAddress(linkLocal, 80)) }
        expectErrno(Errno(rawValue: ENODEV), "no such interface") { try inet6.connect(IPv6SocketAddress(linkLocal, 80, scopeID: 9)) }
        expectErrno(.socketNotConnected) { try inet6.peerName }
        #expect(try inet6.socketName == .v6(.unspecified))
        let fresh = try Socket(.stream, family: .inet6, on: net.a)
        expectErrno(.connectionRefused, "nothing listens on that IPv6 port") {
            try fresh.connect(IPv6SocketAddress(TwoCores.address6B, 6999))
        }
    }
}
