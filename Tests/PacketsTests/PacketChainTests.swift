import Packets
import Testing

/// The chain operations the stack's reassembly and fragmentation rely on.
@Suite struct PacketChainTests {
    @Test func chainedSegmentsReadAsOnePacket() throws {
        let pool = try PacketPool(name: "chain-test", capacity: 8, cacheSize: 0, policy: .anonymous)
        let first = pool.allocate()!
        let second = pool.allocate()!
        first.setContents([1, 2, 3])
        second.setContents([4, 5])
        #expect(first.chain(second))
        #expect(first.packetLength == 5 && first.segmentCount == 2)
        #expect(first.contents() == [1, 2, 3, 4, 5])
        var middle = [UInt8](repeating: 0, count: 3)
        #expect(middle.withUnsafeMutableBytes { first.copyBytes(from: 2, count: 3, to: $0.baseAddress!) })
        #expect(middle == [3, 4, 5])
        #expect(first.removeLast(1))
        #expect(first.contents() == [1, 2, 3, 4])
        #expect(first.prepend(2) != nil)
        #expect(first.packetLength == 6)
        first.free()
        #expect(pool.statistics.available == 8)
    }
}
