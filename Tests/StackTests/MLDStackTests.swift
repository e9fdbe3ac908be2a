import Packets
import Ports
import Stack
import Testing
import Wire

/// The MLDv2 listener of a stack (RFC 3810): a general query written
/// straight into A's port reaches B, and B's answer, read off A's port
/// before A's stack sees it, is a MODE_IS_EXCLUDE report of its groups.
@Suite struct MLDStackTests {
    static let group = IPv6Address(0xff12, 0, 0, 0, 0, 0, 0xf42, 7)

    @Test func generalQueryIsAnsweredWithTheJoinedGroups() throws {
        let net = try TwoStacks6(addressA: IPv6StackTests.a6, addressB: IPv6StackTests.b6)
        #expect(net.pump(until: { net.b.ipv6Addresses(interface: 0).count == 2 }))
        try net.b.ipv6JoinGroup(Self.group, interface: 0)
        #expect(throws: StackError.self) { try net.b.ipv6JoinGroup(IPv6StackTests.a6, interface: 0) }
        _ = net.pump(until: { false }, seconds: 1.3)  // the join's two reports and DAD's announcement pass
        let queriesBefore = net.b.counters[.mldQueries]

        // A general query from a link-local router, 10 ms Maximum Response Delay.
        let router = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        var icmp = [UInt8](repeating: 0, count: 28)
        icmp[0] = 130
        icmp[5] = 10
        let pseudo = InternetChecksum.pseudoHeaderSum(source: router, destination: .allNodes, nextHeader: .icmpv6, length: 28)
        let checksum = icmp.withUnsafeBytes { InternetChecksum.finish(InternetChecksum.sum($0, initial: pseudo)) }
        icmp[2] = UInt8(checksum >> 8)
        icmp[3] = UInt8(checksum & 0xff)
        var ipv6 = [UInt8](repeating: 0, count: 40)
        ipv6[0] = 0x60
        ipv6[5] = 8 + 28
        ipv6[6] = 0  // hop-by-hop
        ipv6[7] = 1
        ipv6.withUnsafeMutableBytes { router.store(to: $0.baseAddress! + 8); IPv6Address.allNodes.store(to: $0.baseAddress! + 24) }
        let frame = [0x33, 0x33, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd] + ipv6 + [58, 0, 5, 2, 0, 0, 1, 0] + icmp
        let query = try #require(net.pool.allocate())
        let bytes = try #require(query.append(frame.count))
        frame.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var burst = [query]
        #expect(burst.withUnsafeMutableBufferPointer { net.ports[0].device.transmit(queue: 0, $0) } == 1)

        // B answers within 10 ms; read its frames on A's side without A's stack.
        var records: [(UInt8, IPv6Address)] = []
        let deadline = ContinuousClock.now + .seconds(2)
        while records.isEmpty && ContinuousClock.now < deadline {
            net.b.poll()
            var slots = [PacketBuffer](repeating: query, count: 8)
            let n = slots.withUnsafeMutableBufferPointer { net.ports[0].device.receive(queue: 0, into: $0) }
            for packet in slots.prefix(n) {
                let data = Array(UnsafeRawBufferPointer(start: packet.data, count: packet.length))
                packet.free()
                // Ethernet to 33:33::16, IPv6 hop limit 1 to ff02::16, hop-by-hop with Router Alert, then type 143.
                guard data.count >= 14 + 40 + 8 + 8, data[0..<6].elementsEqual([0x33, 0x33, 0, 0, 0, 0x16]) else { continue }
                #expect(data[14 + 7] == 1 && data[14 + 6] == 0 && data[54..<58].elementsEqual([58, 0, 5, 2]))
                guard data[62] == 143 else { continue }
                let count = Int(data[68]) << 8 | Int(data[69])
                for i in 0..<count {
                    let at = 70 + 20 * i
                    records.append((data[at], data.withUnsafeBytes { IPv6Address(loadingFrom: $0.baseAddress! + at + 4) }))
                }
            }
        }
        #expect(net.b.counters[.mldQueries] == queriesBefore + 1)
        #expect(records.contains { $0.0 == 2 && $0.1 == Self.group }, "\(records)")
        #expect(records.contains { $0.0 == 2 && $0.1 == IPv6StackTests.b6.solicitedNodeMulticast }, "\(records)")
        #expect(!records.contains { $0.1 == .allNodes }, "ff02::1 is never reported (RFC 3810 §6)")
    }
}
