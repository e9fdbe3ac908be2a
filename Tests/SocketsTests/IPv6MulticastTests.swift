import DataplaneRuntime
import Glibc
import Sockets
import Stack
import SystemPackage
import Testing
import Wire

/// IPv6 multicast sockets over the loopback pair (A fd20::1, B fd20::2):
/// the options' errnos (Linux's, as Tools/test.d/72 checks against the
/// kernel), delivery to every socket of the port, leave, loopback, and the
/// MLDv2 reports a join and a leave send.
@Suite("IPv6 multicast sockets")
struct IPv6MulticastTests {
    static let group = IPv6Address(0xff12, 0, 0, 0, 0, 0, 0xf42, 1)

    private func ready() throws -> TwoCores {
        let net = try TwoCores(ipv6: true)
        #expect(net.pump { net.a.stack.isLocalIPv6Address(TwoCores.address6A) && net.b.stack.isLocalIPv6Address(TwoCores.address6B) })
        net.pump(seconds: 0.1)  // the report of the solicited-node groups goes once DAD is over
        return net
    }

    @Test("IPV6_JOIN/LEAVE_GROUP, IPV6_MULTICAST_HOPS/LOOP/IF: Linux's errnos and defaults, in Swift and through dp_setsockopt")
    func optionErrnos() throws {
        let net = try ready()
        let socket = try Socket(.datagram, family: .inet6, on: net.b)
        try socket.joinGroup(Self.group)
        #expect(net.b.stack.ipv6JoinedGroups(interface: 0) == [Self.group])
        expectErrno(.addressInUse, "joined already") { try socket.joinGroup(Self.group) }
        expectErrno(.addressInUse, "joined already, interface 1 named") { try socket.joinGroup(Self.group, interface: 1) }
        expectErrno(.invalidArgument, "not multicast") { try socket.joinGroup(TwoCores.address6A) }
        expectErrno(Errno(rawValue: ENODEV), "no interface 9") { try socket.joinGroup(IPv6Address(0xff12, 0, 0, 0, 0, 0, 0, 9), interface: 9) }
        var short = (UInt64(0), UInt64(0))
        expectErrno(.invalidArgument, "shorter than ipv6_mreq") {
            try socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_JOIN_GROUP, value: short)
        }
        short.0 = 1
        let stream = try Socket(.stream, family: .inet6, on: net.b)
        expectErrno(Errno(rawValue: EPROTO), "TCP") { try stream.joinGroup(Self.group) }
        expectErrno(.protocolNotAvailable, "hops on TCP") { try stream.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_HOPS, 2) }
        let four = try Socket(.datagram, on: net.b)
        expectErrno(.protocolNotAvailable, "AF_INET") { try four.joinGroup(Self.group) }
        try socket.leaveGroup(Self.group)
        #expect(net.b.stack.ipv6JoinedGroups(interface: 0).isEmpty)
        expectErrno(.addressNotAvailable, "left already") { try socket.leaveGroup(Self.group) }
        expectErrno(.invalidArgument, "leave a unicast address") { try socket.leaveGroup(TwoCores.address6A) }

        let ipv6 = Int32(IPPROTO_IPV6)
        #expect(try socket.option(level: ipv6, name: IPV6_MULTICAST_HOPS) == 1 && socket.option(level: ipv6, name: IPV6_MULTICAST_LOOP) == 1)
        for bad in [256, -2] as [Int32] {
            expectErrno(.invalidArgument, "hops \(bad)") { try socket.setOption(level: ipv6, name: IPV6_MULTICAST_HOPS, bad) }
        }
        try socket.setOption(level: ipv6, name: IPV6_MULTICAST_HOPS, 255)
        #expect(try socket.option(level: ipv6, name: IPV6_MULTICAST_HOPS) == 255)
        try socket.setOption(level: ipv6, name: IPV6_MULTICAST_HOPS, -1)
        #expect(try socket.option(level: ipv6, name: IPV6_MULTICAST_HOPS) == 1)
        expectErrno(.invalidArgument, "loop 2") { try socket.setOption(level: ipv6, name: IPV6_MULTICAST_LOOP, 2) }
        expectErrno(Errno(rawValue: ENODEV), "if 99") { try socket.setOption(level: ipv6, name: IPV6_MULTICAST_IF, 99) }
        try socket.setOption(level: ipv6, name: IPV6_MULTICAST_IF, 1)
        #expect(try socket.option(level: ipv6, name: IPV6_MULTICAST_IF) == 1)

        // The C API takes the same struct ipv6_mreq.
        var request = ipv6_mreq()
        withUnsafeMutableBytes(of: &request.ipv6mr_multiaddr) { Self.group.store(to: $0.baseAddress!) }
        #expect(dp_setsockopt(socket.descriptor, ipv6, IPV6_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ipv6_mreq>.size)) == 0)
        expectC(.invalidArgument, "dp_setsockopt with 19 bytes") {
            Int(dp_setsockopt(socket.descriptor, ipv6, IPV6_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ipv6_mreq>.size - 1)))
        }
        #expect(dp_setsockopt(socket.descriptor, ipv6, IPV6_DROP_MEMBERSHIP, &request, socklen_t(MemoryLayout<ipv6_mreq>.size)) == 0)
        expectC(.addressNotAvailable, "dp_setsockopt drop again") {
            Int(dp_setsockopt(socket.descriptor, ipv6, IPV6_DROP_MEMBERSHIP, &request, socklen_t(MemoryLayout<ipv6_mreq>.size)))
        }
    }

    @Test("a datagram to a joined group reaches every socket bound to its port (two with SO_REUSEADDR, one bound to the group) and another port's socket too (IPV6_MULTICAST_ALL); none after leave; MLDv2 reports on join and leave")
    func deliveryAndLeave() throws {
        let net = try ready()
        let reportsBefore = net.b.stack.counters[.mldReportsSent]
        var receivers: [Socket] = []
        for bound in [IPv6Address.unspecified, .unspecified, Self.group] {
            let socket = try Socket(.datagram, family: .inet6, on: net.b, nonBlocking: true)
            try socket.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
            try socket.bind(IPv6SocketAddress(bound, 7600))
            receivers.append(socket)
        }
        try receivers[0].joinGroup(Self.group)
        let other = try Socket(.datagram, family: .inet6, on: net.b, nonBlocking: true)
        try other.bind(IPv6SocketAddress(.unspecified, 7601))
        #expect(net.b.stack.counters[.mldReportsSent] == reportsBefore + 1, "the first join is reported at once")

        let sender = try Socket(.datagram, family: .inet6, on: net.a)
        let linkLocalA = net.a.stack.ipv6Addresses(interface: 0)[0].address
        #expect(try sender.send(Array("to the group".utf8), to: IPv6SocketAddress(Self.group, 7600)) == 12)
        #expect(try sender.send(Array("other port".utf8), to: IPv6SocketAddress(Self.group, 7601)) == 10)
        var got: [String] = []
        net.pump(seconds: 1) {
            for socket in receivers {
                if let (bytes, source) = try? socket.receiveFrom() {
                    got.append(String(decoding: bytes, as: UTF8.self))
                    // A link-scope group (ff12::) goes from the link-local address (RFC 6724 §5 rule 2).
                    #expect(source == .v6(IPv6SocketAddress(linkLocalA, (try? sender.socketName.port) ?? 0, scopeID: 1)))
                }
            }
            return got.count == 3
        }
        #expect(got == ["to the group", "to the group", "to the group"])
        // The interface joined: port 7601's socket gets its datagram too
        // (Linux's IPV6_MULTICAST_ALL, on by default).
        #expect(net.pump(seconds: 1) { (try? other.receiveFrom()).map { String(decoding: $0.bytes, as: UTF8.self) } == "other port" })

        try receivers[0].leaveGroup(Self.group)
        #expect(net.b.stack.ipv6JoinedGroups(interface: 0).isEmpty)
        #expect(net.b.stack.counters[.mldReportsSent] >= reportsBefore + 2, "the leave is reported at once")
        let notForUs = net.b.stack.counters[.ipv6NotForUs]
        _ = try sender.send(Array("after leave".utf8), to: IPv6SocketAddress(Self.group, 7600))
        #expect(net.pump(seconds: 1) { net.b.stack.counters[.ipv6NotForUs] > notForUs })
        for socket in receivers { #expect((try? socket.receiveFrom()) == nil) }
        // Each change is reported twice (RFC 3810 §9.1), the second a second later.
        #expect(net.pump(seconds: 3) { net.b.stack.counters[.mldReportsSent] >= reportsBefore + 3 })
    }

    @Test("IPV6_MULTICAST_LOOP: a sender that joined its group gets its own datagram, not with loop 0; closing leaves the group")
    func loopback() throws {
        let net = try ready()
        let socket = try Socket(.datagram, family: .inet6, on: net.a, nonBlocking: true)
        try socket.bind(IPv6SocketAddress(.unspecified, 7610))
        try socket.joinGroup(Self.group)
        _ = try socket.send(Array("looped".utf8), to: IPv6SocketAddress(Self.group, 7610))
        #expect(String(decoding: try socket.receiveFrom().bytes, as: UTF8.self) == "looped")
        try socket.setOption(level: Int32(IPPROTO_IPV6), name: IPV6_MULTICAST_LOOP, 0)
        _ = try socket.send(Array("not looped".utf8), to: IPv6SocketAddress(Self.group, 7610))
        net.pump(seconds: 0.2)
        #expect((try? socket.receiveFrom()) == nil)
        try socket.close()
        #expect(net.a.stack.ipv6JoinedGroups(interface: 0).isEmpty)
    }
}
