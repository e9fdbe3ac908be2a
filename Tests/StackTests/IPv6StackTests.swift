import Packets
import Ports
import Stack
import Testing
import Wire

/// Two stacks over a loopback pair with IPv6 on: A is fd20::1/64, B fd20::2/64.
@Suite struct IPv6StackTests {
    static let a6 = IPv6Address("fd20::1")!
    static let b6 = IPv6Address("fd20::2")!

    func makeStacks(addressA: IPv6Address = a6, addressB: IPv6Address = b6) throws -> TwoStacks6 {
        try TwoStacks6(addressA: addressA, addressB: addressB)
    }

    @Test func udpOverIPv6ResolvesNeighboursAndFragments() throws {
        let net = try makeStacks()
        // Duplicate address detection (50 ms here) before the addresses are used.
        #expect(net.pump(until: { net.b.ipv6Addresses(interface: 0).count == 2 && net.a.ipv6Addresses(interface: 0).count == 2 }))
        #expect(net.a.ipv6Addresses(interface: 0).map(\.address).contains(IPv6Address(linkLocalFrom: net.ports[0].device.macAddress)))
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        for size in [1, 1200, 4000, 30_000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try net.send(from: client, payload, to: Self.b6)
            var received: ReceivedDatagram?
            #expect(net.pump(until: { received = try? net.b.udpReceive(server); return received != nil }))
            let datagram = try #require(received)
            #expect(datagram.sourceIPv6 == Self.a6)
            #expect(datagram.payload.contents() == payload)
            // Echo back in place.
            try net.b.udpSend(server, datagram.payload, to: (Self.a6, datagram.sourcePort))
            var back: ReceivedDatagram?
            #expect(net.pump(until: { back = try? net.a.udpReceive(client); return back != nil }))
            #expect(back?.payload.contents() == payload)
            #expect(back?.sourceIPv6 == Self.b6 && back?.sourcePort == 7)
            back?.payload.free()
        }
        #expect(net.a.neighbour(Self.b6)?.macAddress == net.ports[1].device.macAddress)
        #expect(net.a.counters[.ndpSolicitationsSent] >= 3)  // 2 DAD + resolving B
        #expect(net.b.counters[.ipv6Reassembled] >= 2)
        #expect(net.a.counters[.ipv6FragmentsSent] >= 2)
    }

    @Test func duplicateAddressesAreDetected() throws {
        let net = try makeStacks(addressA: Self.b6, addressB: Self.b6)
        _ = net.pump(until: { false }, seconds: 0.3)
        #expect(net.a.counters[.ipv6DuplicateAddress] + net.b.counters[.ipv6DuplicateAddress] >= 1)
        #expect(!net.a.ipv6Addresses(interface: 0).map(\.address).contains(Self.b6)
                || !net.b.ipv6Addresses(interface: 0).map(\.address).contains(Self.b6))
    }
}

/// `TwoStacks` with IPv6 configured on both interfaces (short DAD timer).
final class TwoStacks6 {
    let pool: PacketPool
    let ports: StartedPorts
    let a: NetStack
    let b: NetStack

    init(addressA: IPv6Address, addressB: IPv6Address) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "ipv6-test", capacity: 2048, cacheSize: 0, policy: .anonymous))
        pool = ports.pool
        a = NetStack(pool: pool)
        b = NetStack(pool: pool)
        func v6(_ address: IPv6Address) -> IPv6Configuration {
            IPv6Configuration(addresses: [IPv6Network(address: address, prefixLength: 64)!], retransmitMilliseconds: 50)
        }
        try ports.attach(0, to: a, InterfaceConfiguration(
            address: IPv4Network("10.0.0.1/24")!, announceOnStart: false, ipv6: v6(addressA)))
        try ports.attach(1, to: b, InterfaceConfiguration(
            address: IPv4Network("10.0.0.2/24")!, announceOnStart: false, ipv6: v6(addressB)))
        a.start()
        b.start()
    }

    func send(from endpoint: UDPEndpoint, _ payload: [UInt8], to destination: IPv6Address) throws {
        try payload.withUnsafeBytes { bytes in
            try a.udpSend(endpoint, bytes: bytes, to: (destination, 7))
        }
    }

    func pump(until condition: () -> Bool, seconds: Double = 2) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            a.poll()
            b.poll()
            if condition() { return true }
        }
        return condition()
    }
}
