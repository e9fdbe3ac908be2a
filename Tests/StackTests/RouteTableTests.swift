import Stack
import Testing
import Wire

/// Longest prefix match, the text form of route changes, and routes and
/// static neighbours in a stack (two stacks over a loopback pair).
@Suite struct RouteTableTests {
    func net(_ text: String) -> IPv4Network { IPv4Network(text)! }
    func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }

    func table() throws -> IPv4RouteTable {
        var table = IPv4RouteTable()
        try table.add(IPv4Route(destination: net("0.0.0.0/0"), gateway: ip("10.0.0.254"), interface: 0))
        try table.add(IPv4Route(destination: net("10.0.0.1/24"), interface: 0, origin: .connected))
        try table.add(IPv4Route(destination: net("10.0.0.0/8"), gateway: ip("10.0.0.1"), interface: 0))
        try table.add(IPv4Route(destination: net("10.0.5.0/24"), gateway: ip("10.1.0.1"), interface: 1))
        try table.add(IPv4Route(destination: net("10.1.0.0/16"), interface: 1, origin: .connected))
        try table.add(IPv4Route(destination: net("10.0.5.7/32"), gateway: ip("10.1.0.2"), interface: 1))
        return table
    }

    @Test func longestPrefixWins() throws {
        let table = try table()
        #expect(table.lookup(ip("10.0.0.9"))?.destination == net("10.0.0.0/24"))
        #expect(table.lookup(ip("10.0.0.9"))?.gateway == nil)
        #expect(table.lookup(ip("10.0.5.7"))?.gateway == ip("10.1.0.2"))
        #expect(table.lookup(ip("10.0.5.8"))?.gateway == ip("10.1.0.1"))
        #expect(table.lookup(ip("10.1.200.3"))?.interface == 1)
        #expect(table.lookup(ip("10.200.0.1"))?.gateway == ip("10.0.0.1"))
        #expect(table.lookup(ip("192.0.2.1"))?.gateway == ip("10.0.0.254"))
        // Kept longest first: the scan's first match is the longest.
        #expect(table.routes.map(\.destination.prefixLength) == [32, 24, 24, 16, 8, 0])
        // Limited to one interface (a bound source address).
        #expect(table.lookup(ip("10.0.5.7"), interface: 0)?.destination == net("10.0.0.0/8"))
    }

    @Test func noDefaultMeansUnreachable() throws {
        var table = try table()
        try table.remove(net("0.0.0.0/0"))
        #expect(table.lookup(ip("192.0.2.1")) == nil)
        #expect(table.lookup(ip("10.9.9.9")) != nil)
    }

    @Test func addAndRemoveRules() throws {
        var table = try table()
        #expect(throws: RouteTableError.exists) { try table.add(IPv4Route(destination: net("10.0.0.0/8"), gateway: ip("10.0.0.2"), interface: 0)) }
        #expect(throws: RouteTableError.notFound) { try table.remove(net("172.16.0.0/12")) }
        #expect(throws: RouteTableError.notFound) { try table.remove(net("10.0.5.0/24"), gateway: ip("10.1.0.9")) }
        #expect(throws: RouteTableError.connected) { try table.remove(net("10.1.0.0/16")) }
        let removed = try table.remove(net("10.0.5.9/24"))  // host bits do not matter
        #expect(removed.gateway == ip("10.1.0.1"))
        #expect(table.lookup(ip("10.0.5.8"))?.destination == net("10.0.0.0/8"))
        var small = IPv4RouteTable(capacity: 1)
        try small.add(IPv4Route(destination: net("10.0.0.0/8"), interface: 0))
        #expect(throws: RouteTableError.full) { try small.add(IPv4Route(destination: net("10.0.0.0/9"), interface: 0)) }
    }

    @Test func textForms() throws {
        #expect(try RouteCommand(routeFlag: "10.2.0.0/24 via 10.1.0.1 dev 1") == .addRoute(net("10.2.0.0/24"), via: ip("10.1.0.1"), interface: 1))
        #expect(try RouteCommand(routeFlag: "default via 10.1.0.1") == .addRoute(net("0.0.0.0/0"), via: ip("10.1.0.1"), interface: nil))
        #expect(try RouteCommand(routeFlag: "10.3.0.0/16 dev 0") == .addRoute(net("10.3.0.0/16"), via: nil, interface: 0))
        #expect(try RouteCommand(arpFlag: "10.1.0.9=02:00:00:00:00:09")
                == .addNeighbour(ip("10.1.0.9"), MACAddress(2, 0, 0, 0, 0, 9), interface: nil))
        let file = """
            # lab routes
            route add 10.2.0.0/24 via 10.1.0.1   # through R
            route 10.4.0.0/16 dev 0

            arp add 10.1.0.9 02:00:00:00:00:09
            route del 10.4.0.0/16
            neigh del 10.1.0.9
            """
        #expect(try RouteCommand.parseFile(file) == [
            .addRoute(net("10.2.0.0/24"), via: ip("10.1.0.1"), interface: nil),
            .addRoute(net("10.4.0.0/16"), via: nil, interface: 0),
            .addNeighbour(ip("10.1.0.9"), MACAddress(2, 0, 0, 0, 0, 9), interface: nil),
            .removeRoute(net("10.4.0.0/16"), via: nil),
            .removeNeighbour(ip("10.1.0.9")),
        ])
        for bad in ["10.2.0.0/24", "10.2.0.0/33 via 10.1.0.1", "10.2.0.0/24 via nowhere", "10.2.0.0/24 via", "10.2.0.0/24 gw 10.1.0.1"] {
            #expect(throws: StackError.self, "\(bad)") { try RouteCommand(routeFlag: bad) }
        }
        #expect(throws: StackError.self) { try RouteCommand(arpFlag: "10.1.0.9") }
        #expect(throws: StackError.self) { try RouteCommand(arpFlag: "10.1.0.9=02:00") }
        do {
            _ = try RouteCommand.parseFile("route add 10.2.0.0/24 via 10.1.0.1\nroute add bogus\n")
            Issue.record("a bad line was accepted")
        } catch {
            #expect(error.description.contains("line 2"))
        }
    }

    // MARK: In a stack

    @Test func staticRouteSendsThroughTheGatewayAndNoRouteIsUnreachable() throws {
        let net = try TwoStacks()
        let client = try net.a.udpBind(port: 0)
        let far = IPv4Address(10, 5, 1, 1)
        #expect(throws: StackError.self) {
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (far, 7)) }
        }
        #expect(throws: StackError.self) { try net.a.addRoute(self.net("10.5.0.0/16"), via: IPv4Address(10, 9, 0, 1)) }
        try net.a.addRoute(self.net("10.5.0.0/16"), via: TwoStacks.addressB)
        #expect(throws: StackError.self) { try net.a.addRoute(self.net("10.5.0.0/16"), via: TwoStacks.addressB) }
        #expect(net.a.routes.map(\.origin) == ["connected", "static"])
        try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (far, 7)) }
        // The datagram goes to B's MAC (the gateway's); B is no router and drops it.
        #expect(net.pump(until: { net.b.counters[.ipv4NotForUs] == 1 }))
        #expect(net.a.neighbour(TwoStacks.addressB) != nil)
        try net.a.removeRoute(self.net("10.5.0.0/16"))
        #expect(throws: StackError.self) { try net.a.removeRoute(self.net("10.5.0.0/16")) }
        #expect(throws: StackError.self) {
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (far, 7)) }
        }
    }

    @Test func staticNeighbourNeedsNoRequestAndIgnoresReplies() throws {
        let net = try TwoStacks()
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        try net.a.addNeighbour(TwoStacks.addressB, at: net.ports[1].device.macAddress)
        try [UInt8](repeating: 3, count: 8).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 7)) }
        #expect(net.pump(until: { (try? net.b.udpReceive(server)).flatMap { $0 }.map { $0.payload.free(); return true } ?? false }))
        #expect(net.a.counters[.arpRequestsSent] == 0)
        // A wrong static entry stays (as `nud permanent` does): B's ARP traffic does not change it.
        let wrong = MACAddress(2, 0, 0, 0, 0, 0x42)
        try net.a.addNeighbour(TwoStacks.addressB, at: wrong)
        try net.b.sendEchoRequest(to: TwoStacks.addressA, identifier: 1, sequenceNumber: 1, payloadLength: 8)
        net.pump(16)
        #expect(net.a.neighbour(TwoStacks.addressB)?.macAddress == wrong)
        #expect(net.a.neighbours.first { $0.address == TwoStacks.addressB }?.state == "PERMANENT")
        try net.a.removeNeighbour(TwoStacks.addressB)
        #expect(net.a.neighbour(TwoStacks.addressB) == nil)
        #expect(throws: StackError.self) { try net.a.removeNeighbour(TwoStacks.addressB) }
        #expect(throws: StackError.self) { try net.a.addNeighbour(IPv4Address(10, 9, 0, 1), at: wrong) }
    }

    /// As Linux: a SYN whose next hop never answers ARP fails the connect
    /// with EHOSTUNREACH; a UDP socket hears nothing (a soft error).
    @Test func failedResolutionFailsTheConnectButNotUDP() throws {
        var limits = StackLimits()
        limits.arpRetryMilliseconds = 5
        limits.arpRequestAttempts = 2
        let net = try TwoStacks(limits: limits)
        let nobody = IPv4Address(10, 0, 0, 77)
        let (stream, _) = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: nobody, port: 80, options: TCPStreamOptions())
        let client = try net.a.udpBind(port: 5000)
        try net.a.udpConnect(client, to: nobody, port: 7)
        try [UInt8](repeating: 1, count: 8).withUnsafeBytes { try net.a.udpSend(client, bytes: $0) }
        #expect(net.pump(until: { net.a.tcpStatus(stream)?.failure != nil }, seconds: 3))
        #expect(net.a.tcpStatus(stream)?.failure == .hostUnreachable)
        #expect(net.a.counters[.arpUnresolved] >= 2)
        #expect(try net.a.udpTakeError(client) == nil)
    }
}
