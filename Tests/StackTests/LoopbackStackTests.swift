import LoopbackDriver
import Packets
import Ports
import Stack
import Testing
import Wire

@Suite struct LoopbackStackTests {
    func bytes(_ count: Int, seed: Int = 3) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 31 + seed) } }

    func receive(_ stack: NetStack, _ endpoint: UDPEndpoint) throws -> (data: [UInt8], source: IPv4Address, port: UInt16)? {
        guard let datagram = try stack.udpReceive(endpoint) else { return nil }
        defer { datagram.payload.free() }
        return (datagram.payload.contents(), datagram.source, datagram.sourcePort)
    }

    @Test func arpResolvesAndTheWaitingDatagramIsSent() throws {
        let net = try TwoStacks()
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        try [UInt8](repeating: 1, count: 10).withUnsafeBytes {
            try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 7))
        }
        #expect(net.a.neighbour(TwoStacks.addressB) == nil)
        var got: (data: [UInt8], source: IPv4Address, port: UInt16)?
        #expect(net.pump(until: { got = try? receive(net.b, server); return got != nil }))
        #expect(got?.data == [UInt8](repeating: 1, count: 10))
        #expect(got?.source == TwoStacks.addressA)
        #expect(net.a.neighbour(TwoStacks.addressB)?.macAddress == net.ports[1].device.macAddress)
        #expect(net.a.neighbour(TwoStacks.addressB)?.reachable == true)
        // B learnt A from the request that named it.
        #expect(net.b.neighbour(TwoStacks.addressA)?.macAddress == net.ports[0].device.macAddress)
        #expect(net.a.counters[.arpRequestsSent] == 1)
        #expect(net.b.counters[.arpRepliesSent] == 1)
        #expect(net.a.counters.totalDropped == 0 && net.b.counters.totalDropped == 0)
    }

    @Test(arguments: [0, 56, 1472, 4000, 65_507])
    func pingIsAnswered(size: Int) throws {
        let net = try TwoStacks()
        try net.a.sendEchoRequest(to: TwoStacks.addressB, identifier: 9, sequenceNumber: 4, payloadLength: size)
        #expect(net.pump(until: { net.a.lastEchoReply != nil }))
        #expect(net.a.lastEchoReply == EchoReply(source: TwoStacks.addressB, identifier: 9, sequenceNumber: 4, payloadLength: size))
        #expect(net.b.counters[.icmpEchoReplies] == 1)
        #expect(net.a.counters.totalDropped == 0 && net.b.counters.totalDropped == 0)
    }

    @Test(arguments: [1, 1472, 1473, 8000, 65_507])
    func udpEchoesBothWaysWithFragmentation(size: Int) throws {
        let net = try TwoStacks()
        let server = try net.b.udpBind(address: TwoStacks.addressB, port: 7)
        let client = try net.a.udpBind(port: 40000)
        let payload = bytes(size)
        try payload.withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 7)) }
        var request: ReceivedDatagram?
        #expect(net.pump(until: { request = try? net.b.udpReceive(server); return request != nil }))
        guard let request else { return }
        #expect(request.length == size)
        #expect(request.sourcePort == 40000)
        // Echo in place: the received buffer (a chain when reassembled) goes back.
        try net.b.udpSend(server, request.payload, to: (request.source, request.sourcePort))
        var reply: (data: [UInt8], source: IPv4Address, port: UInt16)?
        #expect(net.pump(until: { reply = try? receive(net.a, client); return reply != nil }))
        #expect(reply?.data == payload)
        #expect(reply?.source == TwoStacks.addressB && reply?.port == 7)
        if size > 1472 {
            let fragments = UInt64((size + 8 + 1479) / 1480)
            #expect(net.a.counters[.ipv4FragmentsSent] == fragments)
            #expect(net.b.counters[.ipv4Reassembled] == 1)
            #expect(net.a.counters[.ipv4Reassembled] == 1)
        }
        #expect(net.a.counters.totalDropped == 0 && net.b.counters.totalDropped == 0)
        net.pump(2)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }

    @Test func smallerMTUFragmentsMore() throws {
        let net = try TwoStacks(mtu: 576)
        let server = try net.b.udpBind(port: 9)
        let client = try net.a.udpBind(port: 0)
        try bytes(3000).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 9)) }
        var got: ReceivedDatagram?
        #expect(net.pump(until: { got = try? net.b.udpReceive(server); return got != nil }))
        #expect(got?.payload.contents() == bytes(3000))
        got?.payload.free()
        #expect(net.a.counters[.ipv4FragmentsSent] == UInt64((3008 + 551) / 552))
    }

    @Test func connectedEndpointsFilterPeersAndSeeRefusals() throws {
        let net = try TwoStacks()
        let client = try net.a.udpBind(port: 5000)
        try net.a.udpConnect(client, to: TwoStacks.addressB, port: 9999)
        try [UInt8](repeating: 5, count: 20).withUnsafeBytes { try net.a.udpSend(client, bytes: $0) }
        #expect(net.pump(until: { net.a.udpReadiness(client).contains(.error) }))
        #expect(net.b.counters[.udpClosedPort] == 1)
        #expect(net.b.counters[.icmpErrorsSent] == 1)
        let error = try net.a.udpTakeError(client)
        #expect(error?.kind == .connectionRefused)
        #expect(try net.a.udpTakeError(client) == nil)
    }

    @Test func bindRules() throws {
        let net = try TwoStacks()
        let first = try net.a.udpBind(port: 7)
        #expect(throws: StackError.self) { try net.a.udpBind(port: 7) }
        #expect(throws: StackError.self) { try net.a.udpBind(address: IPv4Address(10, 9, 9, 9), port: 8) }
        net.a.udpClose(first)
        _ = try net.a.udpBind(address: TwoStacks.addressA, port: 7)
        #expect(throws: StackError.self) { try net.a.udpReceive(first) }
        let big = [UInt8](repeating: 0, count: 65_508)
        let endpoint = try net.a.udpBind(port: 0)
        #expect(throws: StackError.self) {
            try big.withUnsafeBytes { try net.a.udpSend(endpoint, bytes: $0, to: (TwoStacks.addressB, 1)) }
        }
    }

    @Test func unresolvedAddressDropsWaitingPacketsAfterRetries() throws {
        var limits = StackLimits()
        limits.arpRetryMilliseconds = 5
        limits.arpRequestAttempts = 3
        let net = try TwoStacks(limits: limits)
        let client = try net.a.udpBind(port: 0)
        for _ in 0..<3 {
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes {
                try net.a.udpSend(client, bytes: $0, to: (IPv4Address(10, 0, 0, 77), 7))
            }
        }
        #expect(net.pump(until: { net.a.counters[.arpUnresolved] == 3 }, seconds: 3))
        #expect(net.a.counters[.arpRequestsSent] == 3)
        #expect(net.a.neighbour(IPv4Address(10, 0, 0, 77)) == nil)
        net.pump(2)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }

    @Test func withoutATimerAResolutionIsAbandonedNotLeaked() throws {
        var limits = StackLimits()
        limits.timers = 1
        let net = try TwoStacks(limits: limits)
        let client = try net.a.udpBind(port: 0)
        for host in [UInt8(80), 81] {
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes {
                try net.a.udpSend(client, bytes: $0, to: (IPv4Address(10, 0, 0, host), 7))
            }
        }
        #expect(net.a.counters[.timersExhausted] == 1)
        #expect(net.a.counters[.arpUnresolved] == 1)
        #expect(net.a.neighbour(IPv4Address(10, 0, 0, 81)) == nil)
    }

    @Test func arpQueueIsBounded() throws {
        var limits = StackLimits()
        limits.arpPendingPerEntry = 4
        let net = try TwoStacks(limits: limits)
        let client = try net.a.udpBind(port: 0)
        for _ in 0..<6 {
            try [UInt8](repeating: 1, count: 8).withUnsafeBytes {
                try net.a.udpSend(client, bytes: $0, to: (IPv4Address(10, 0, 0, 78), 7))
            }
        }
        #expect(net.a.counters[.arpQueueFull] == 2)
    }

    @Test func gratuitousARPOnStartTeachesThePeer() throws {
        let ports = try PortBringUp.startLoopbackPair(
            pool: PoolRequest(name: "garp", capacity: 64, cacheSize: 0, policy: .anonymous))
        let a = NetStack(pool: ports.pool)
        let b = NetStack(pool: ports.pool)
        try ports.attach(0, to: a, .init(address: IPv4Network("10.1.0.1/16")!))
        try ports.attach(1, to: b, .init(address: IPv4Network("10.1.0.2/16")!))
        a.start()
        b.poll()
        #expect(a.counters[.arpGratuitousSent] == 1)
        // A gratuitous request updates only entries that exist (RFC 826):
        // B had none, so it learnt nothing, and counted it as not for it.
        #expect(b.counters[.arpNotForUs] == 1)
        #expect(b.neighbour(IPv4Address(10, 1, 0, 1)) == nil)
    }

    @Test func twoInterfacesOnOneStack() throws {
        // Two pairs on one pool: left.first, left.second, right.first, right.second.
        let left = try PortOpener.openLoopbackPair(ringSize: 1024)
        let right = try PortOpener.openLoopbackPair(ringSize: 1024)
        let ports = try PortBringUp.start([left.0, left.1, right.0, right.1],
                                          pool: PoolRequest(name: "multi", capacity: 256, cacheSize: 0, policy: .anonymous))
        let middle = NetStack(pool: ports.pool)
        try ports.attach(0, to: middle, .init(address: IPv4Network("10.1.0.1/24")!))
        try ports.attach(2, to: middle, .init(address: IPv4Network("10.2.0.1/24")!))
        let l = NetStack(pool: ports.pool)
        try ports.attach(1, to: l, .init(address: IPv4Network("10.1.0.2/24")!))
        let r = NetStack(pool: ports.pool)
        try ports.attach(3, to: r, .init(address: IPv4Network("10.2.0.2/24")!))
        for s in [middle, l, r] { s.start() }
        try l.sendEchoRequest(to: IPv4Address(10, 1, 0, 1), identifier: 1, sequenceNumber: 1, payloadLength: 32)
        try r.sendEchoRequest(to: IPv4Address(10, 2, 0, 1), identifier: 2, sequenceNumber: 1, payloadLength: 32)
        for _ in 0..<10 { for s in [middle, l, r] { s.poll() } }
        #expect(l.lastEchoReply?.source == IPv4Address(10, 1, 0, 1))
        #expect(r.lastEchoReply?.source == IPv4Address(10, 2, 0, 1))
        #expect(middle.interfaceAddresses.count == 2)
    }
}

@Suite struct ARPAndICMPLimitTests {
    @Test func staleEntriesAreUsedAndRefreshed() throws {
        var limits = StackLimits()
        // The retry interval is also the refresh interval; 100 ms keeps a
        // retry out of the first exchange even on a loaded machine.
        limits.arpReachableMilliseconds = 20
        limits.arpRetryMilliseconds = 100
        let net = try TwoStacks(limits: limits)
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        func send() throws {
            try [UInt8](repeating: 2, count: 4).withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 7)) }
        }
        try send()
        net.pump(4)
        #expect(net.a.counters[.arpRequestsSent] == 1)
        let deadline = ContinuousClock.now + .milliseconds(120)
        while ContinuousClock.now < deadline { net.a.poll() }
        #expect(net.a.neighbour(TwoStacks.addressB)?.reachable == false)
        // Stale: sent at once, and a request refreshes the entry.
        try send()
        net.pump(4)
        #expect(net.a.counters[.arpRequestsSent] == 2)
        #expect(net.a.neighbour(TwoStacks.addressB)?.reachable == true)
        var received = 0
        while let datagram = try net.b.udpReceive(server) {
            datagram.payload.free()
            received += 1
        }
        #expect(received == 2)
    }

    @Test func icmpErrorsAreRateLimited() throws {
        var limits = StackLimits()
        limits.icmpErrorBurst = 3
        limits.icmpErrorsPerSecond = 1
        let net = try TwoStacks(limits: limits)
        let client = try net.a.udpBind(port: 0)
        for _ in 0..<10 {
            try [UInt8](repeating: 1, count: 4).withUnsafeBytes {
                try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 9))
            }
            net.pump(2)
        }
        #expect(net.b.counters[.udpClosedPort] == 10)
        #expect(net.b.counters[.icmpErrorsSent] == 3)
        #expect(net.b.counters[.icmpRateLimited] == 7)
    }

    @Test func tcpSegmentWithABadChecksumIsACountedDrop() throws {
        // (With TCP wired in, the former "TCP not available" drop is gone;
        // a segment whose checksum is wrong is still dropped and counted.)
        let net = try StackAndWire()
        net.introducePeer()
        var segment = [UInt8](repeating: 0, count: 20)
        segment[12] = 0x50
        segment[13] = 0x02  // SYN, checksum left 0
        net.inject(net.ipv4Frame(protocol: .tcp, payload: segment))
        #expect(net.stack.counters[.tcpReceived] == 1)
        #expect(net.stack.counters.malformed(.tcp, .badChecksum) == 1)
        // No RST, no answer at all.
        #expect(net.sent().isEmpty)
    }

    @Test func malformedFramesAreCountedByLayerAndReason() throws {
        let net = try StackAndWire()
        net.introducePeer()
        // Ethernet: shorter than a header.
        net.inject([1, 2, 3])
        #expect(net.stack.counters.malformed(.ethernet, .truncated) == 1)
        // IPv4 header checksum broken.
        net.inject(net.ipv4Frame(protocol: .icmp, payload: StackAndWire.echoRequest(dataLength: 8)) { $0.headerChecksum ^= 0x0101 })
        #expect(net.stack.counters.malformed(.ipv4, .badChecksum) == 1)
        // ICMP checksum broken.
        var request = StackAndWire.echoRequest(dataLength: 8)
        request[2] ^= 0xff
        net.inject(net.ipv4Frame(protocol: .icmp, payload: request))
        #expect(net.stack.counters.malformed(.icmp, .badChecksum) == 1)
        // A good echo request is answered with the same data.
        net.inject(net.ipv4Frame(protocol: .icmp, payload: StackAndWire.echoRequest(dataLength: 100)))
        let replies = net.sent()
        #expect(replies.count == 1)
        if let reply = replies.first {
            #expect(reply.count == 14 + 20 + 108)
            #expect(reply[34] == 0)  // echo reply
            #expect(Array(reply[42...]) == Array(StackAndWire.echoRequest(dataLength: 100)[8...]))
        }
        // Not for us: another unicast address.
        net.inject(net.ipv4Frame(protocol: .icmp, payload: StackAndWire.echoRequest(dataLength: 8),
                                 destination: IPv4Address(10, 0, 0, 99)))
        #expect(net.stack.counters[.ipv4NotForUs] == 1)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }
}
