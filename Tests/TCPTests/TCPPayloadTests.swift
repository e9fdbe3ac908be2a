import Testing
@testable import TCP

/// A payload over several regions (a packet chain, coalesced segments):
/// trimming moves offsets only, and the ring takes it in one copy.
@Suite struct TCPPayloadTests {
    /// Bytes 0..<total split into regions of the given sizes.
    static func withRegions<R>(_ sizes: [Int], _ body: (TCPPayload, [UInt8]) -> R) -> R {
        let all = (0..<sizes.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        return all.withUnsafeBytes { bytes in
            var regions: [UnsafeRawBufferPointer] = []
            var at = 0
            for size in sizes {
                regions.append(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + size)]))
                at += size
            }
            return regions.dropFirst().withUnsafeBufferPointer { others in
                body(TCPPayload(first: regions[0], others: others, segmentCount: sizes.count), all)
            }
        }
    }

    static func contents(_ payload: TCPPayload) -> [UInt8] {
        var result: [UInt8] = []
        payload.forEachRegion { result += $0 }
        return result
    }

    @Test func regionsReadInOrderAndTrimByOffsets() {
        Self.withRegions([5, 7, 3]) { payload, all in
            #expect(payload.count == 15 && payload.segmentCount == 3)
            #expect(Self.contents(payload) == all)
            #expect(Self.contents(payload.dropFirst(6)) == Array(all[6...]))
            #expect(Self.contents(payload.prefix(9)) == Array(all[..<9]))
            #expect(Self.contents(payload.dropFirst(4).prefix(4)) == Array(all[4..<8]))
            #expect(payload.dropFirst(20).count == 0 && Self.contents(payload.dropFirst(20)).isEmpty)
            #expect(payload.prefix(-1).count == 0)
            var copied = [UInt8](repeating: 0, count: 8)
            copied.withUnsafeMutableBytes { payload.dropFirst(3).prefix(8).copyBytes(to: $0.baseAddress!) }
            #expect(copied == Array(all[3..<11]))
        }
    }

    @Test func theRingTakesAMultiRegionPayloadAcrossItsWrap() {
        var ring = TCPByteRing(capacity: 16)
        defer { ring.deallocate() }
        _ = [UInt8](repeating: 9, count: 10).withUnsafeBytes { ring.append($0) }
        ring.removeFirst(10)  // the head is now at 10: a write of 12 wraps
        Self.withRegions([4, 5, 3]) { payload, all in
            #expect(ring.write(at: 0, from: payload) == 12)
            ring.commit(12)
            var out = [UInt8](repeating: 0, count: 12)
            #expect(out.withUnsafeMutableBytes { ring.read(into: $0) } == 12)
            #expect(out == all)
        }
    }

    /// The one-walk write of a coalesced payload over chunks smaller than
    /// its regions: the same bytes as writing region by region, trimmed,
    /// ahead of the head (out of order), and cut at the capacity and at
    /// the core's budget.
    @Test(arguments: [
        (0, 0, 40, 1 << 20, 40),    // all of it, regions crossing 8-byte chunks
        (3, 5, 30, 1 << 20, 30),    // ahead of the head, trimmed at both ends
        (0, 0, 40, 24, 24),         // the budget holds three chunks
        (6, 0, 40, 1 << 20, 34),    // the capacity (40) cuts it
    ])
    func oneWalkWriteMatchesRegionByRegion(offset: Int, skip: Int, take: Int, budget: Int, expected: Int) {
        let cache = TCPChunkCache(chunkSize: 8, budgetBytes: budget)
        var ring = TCPByteRing(capacity: 40, cache: cache)
        defer { ring.deallocate() }
        Self.withRegions([11, 3, 13, 1, 12]) { payload, all in
            let trimmed = payload.dropFirst(skip).prefix(take)
            #expect(ring.write(at: offset, from: trimmed) == expected)
            // The earlier bytes (out of order: a hole) filled after.
            let filler = [UInt8](repeating: 0xEE, count: offset)
            #expect(filler.withUnsafeBytes { ring.write(at: 0, from: $0) } == offset)
            ring.commit(offset + expected)
            var out = [UInt8](repeating: 0, count: offset + expected)
            #expect(out.withUnsafeMutableBytes { ring.read(into: $0) } == out.count)
            #expect(out == filler + Array(all[skip..<(skip + expected)]))
        }
    }
}
