import Testing
@testable import Packets

/// A buffer freed after its pool was released must not write through a
/// dangling pointer: the orphanage takes it and counts it. Serialized: the
/// count is process-wide.
@Suite("PacketPool lifetime", .serialized)
struct PacketPoolLifetimeTests {
    /// Allocates `count` buffers (one a chain of two, filled with a pattern)
    /// and returns them after the pool's last reference is gone.
    func buffersOutlivingTheirPool(_ count: Int) throws -> [PacketBuffer] {
        let pool = try makePool(capacity: 16, cacheSize: 0)
        var buffers: [PacketBuffer] = []
        for _ in 0..<count { buffers.append(try #require(pool.allocate())) }
        _ = buffers[0].setContents(Array(repeating: 0xAB, count: 100))
        let tail = try #require(pool.allocate())
        _ = tail.setContents([1, 2, 3])
        #expect(buffers[0].chain(tail))
        return buffers
    }

    @Test("a buffer freed after its pool is released is counted, its bytes still readable")
    func freeAfterPoolRelease() throws {
        let before = PacketPool.orphanedFreeCount
        let buffers = try buffersOutlivingTheirPool(3)
        // The memory stayed mapped: the contents are what was written.
        #expect(buffers[0].contents() == Array(repeating: 0xAB, count: 100) + [1, 2, 3])
        buffers[0].free()  // a chain: two segments
        #expect(PacketPool.orphanedFreeCount == before + 2)
        var burst = [buffers[1], buffers[2]]
        burst.withUnsafeMutableBufferPointer { PacketBuffer.free($0) }
        #expect(PacketPool.orphanedFreeCount == before + 4)
    }

    @Test("a pool released with every buffer back orphans nothing")
    func cleanRelease() throws {
        let before = PacketPool.orphanedFreeCount
        do {
            let pool = try makePool(capacity: 8, cacheSize: 0)
            let buffer = try #require(pool.allocate())
            buffer.free()
        }
        #expect(PacketPool.orphanedFreeCount == before)
    }
}
