import Testing
import Wire
@testable import TCP

@Suite struct ByteRingTests {
    @Test func appendReadAcrossChunks() {
        var ring = TCPByteRing(capacity: 8, cache: TCPChunkCache(chunkSize: 4))
        defer { ring.deallocate() }
        let first = [UInt8]([1, 2, 3, 4, 5, 6]).withUnsafeBytes { ring.append($0) }
        #expect(first == 6)
        #expect(ring.chunkCount == 2)
        var out = [UInt8](repeating: 0, count: 4)
        let read = out.withUnsafeMutableBytes { ring.read(into: $0) }
        #expect(read == 4)
        #expect(out == [1, 2, 3, 4])
        #expect(ring.chunkCount == 1)  // the first chunk went back when the head passed it
        let second = [UInt8]([7, 8, 9, 10, 11, 12, 13]).withUnsafeBytes { ring.append($0) }
        #expect(second == 6)  // only 6 fit
        let (a, b) = ring.regions(offset: 0, length: 6)
        #expect(Array(a) + Array(b) == [5, 6, 7, 8, 9, 10])
        #expect(b.count > 0)  // it spans two chunks
        var pieces: [UInt8] = []
        ring.forEachRegion(offset: 0, length: 8) { pieces += Array($0) }
        #expect(pieces == [5, 6, 7, 8, 9, 10, 11, 12])
        var copied = [UInt8](repeating: 0, count: 5)
        copied.withUnsafeMutableBytes { ring.copy(offset: 3, length: 5, to: $0.baseAddress!) }
        #expect(copied == [8, 9, 10, 11, 12])
    }

    @Test func drainedRingHoldsNoMemory() {
        let cache = TCPChunkCache(chunkSize: 16, budgetBytes: 1 << 20, cachedChunkLimit: 1)
        var ring = TCPByteRing(capacity: 100, cache: cache)
        defer { ring.deallocate() }
        #expect(ring.chunkCount == 0)
        let bytes = [UInt8](0..<50)
        #expect(bytes.withUnsafeBytes { ring.append($0) } == 50)
        #expect(ring.chunkCount == 4)
        #expect(cache.bytesInUse == 64)
        var out = [UInt8](repeating: 0, count: 50)
        #expect(out.withUnsafeMutableBytes { ring.read(into: $0) } == 50)
        #expect(out == bytes)
        #expect(ring.chunkCount == 0)
        #expect(cache.bytesInUse == 0)
        #expect(cache.freeCount == 1)  // one kept, three returned to the system
        #expect(cache.systemFrees == 3)
    }

    @Test func budgetPushesBack() {
        let cache = TCPChunkCache(chunkSize: 8, budgetBytes: 16)
        var a = TCPByteRing(capacity: 64, cache: cache)
        var b = TCPByteRing(capacity: 64, cache: cache)
        defer { a.deallocate(); b.deallocate() }
        let bytes = [UInt8](repeating: 7, count: 64)
        #expect(bytes.withUnsafeBytes { a.append($0) } == 16)
        #expect(b.freeSpace == 0)
        #expect(bytes.withUnsafeBytes { b.append($0) } == 0)
        #expect(cache.budgetRefusals > 0)
        var out = [UInt8](repeating: 0, count: 16)
        _ = out.withUnsafeMutableBytes { a.read(into: $0) }
        #expect(b.freeSpace == 16)
        #expect(bytes.withUnsafeBytes { b.append($0) } == 16)
    }

    @Test func sequentialCopiesAcrossManyChunks() {
        var ring = TCPByteRing(capacity: 4096, cache: TCPChunkCache(chunkSize: 64))
        defer { ring.deallocate() }
        let bytes = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(bytes.withUnsafeBytes { ring.append($0) } == 4000)
        ring.removeFirst(100)
        var out = [UInt8](repeating: 0, count: 3900)
        var offset = 0
        while offset < 3900 {
            let length = min(1448, 3900 - offset)
            out.withUnsafeMutableBytes { ring.copy(offset: offset, length: length, to: $0.baseAddress! + offset) }
            offset += length
        }
        #expect(out == Array(bytes[100...]))
        ring.copy(offset: 0, length: 10, to: &out)  // backwards: restarts at the head
        #expect(Array(out.prefix(10)) == Array(bytes[100..<110]))
    }

    @Test func writeAheadThenCommit() {
        var ring = TCPByteRing(capacity: 10)
        defer { ring.deallocate() }
        [UInt8]([5, 6]).withUnsafeBytes { _ = ring.write(at: 4, from: $0) }
        #expect(ring.count == 0)
        [UInt8]([1, 2, 3, 4]).withUnsafeBytes { _ = ring.write(at: 0, from: $0) }
        ring.commit(6)
        var out = [UInt8](repeating: 0, count: 6)
        _ = out.withUnsafeMutableBytes { ring.read(into: $0) }
        #expect(out == [1, 2, 3, 4, 5, 6])
    }

    @Test func writeBeyondCapacityIsClipped() {
        var ring = TCPByteRing(capacity: 4)
        defer { ring.deallocate() }
        let clipped = [UInt8](repeating: 1, count: 10).withUnsafeBytes { ring.write(at: 2, from: $0) }
        #expect(clipped == 2)
        let outside = [UInt8]([1]).withUnsafeBytes { ring.write(at: 9, from: $0) }
        #expect(outside == 0)
    }
}

@Suite struct ReassemblyQueueTests {
    @Test func mergesAdjacentAndOverlappingRanges() {
        var queue = TCPReassemblyQueue(capacity: 4)
        do { let result = queue.insert(start: Seq(100), end: Seq(200)); #expect(result) }
        do { let result = queue.insert(start: Seq(300), end: Seq(400)); #expect(result) }
        do { let result = queue.insert(start: Seq(200), end: Seq(300)); #expect(result) }
        #expect(queue.ranges.count == 1)
        do { let result = queue.takeContiguous(from: Seq(50)); #expect(result == nil) }
        do { let result = queue.takeContiguous(from: Seq(100)); #expect(result == Seq(400)) }
        #expect(queue.isEmpty)
    }

    @Test func refusesRangesBeyondCapacity() {
        var queue = TCPReassemblyQueue(capacity: 2)
        do { let result = queue.insert(start: Seq(10), end: Seq(20)); #expect(result) }
        do { let result = queue.insert(start: Seq(30), end: Seq(40)); #expect(result) }
        do { let result = queue.insert(start: Seq(50), end: Seq(60)); #expect(!result) }
        do { let result = queue.insert(start: Seq(15), end: Seq(35)); #expect(result) }
        #expect(queue.ranges.count == 1)
    }

    @Test func sackBlocksMostRecentFirst() {
        var queue = TCPReassemblyQueue(capacity: 8)
        _ = queue.insert(start: Seq(10), end: Seq(20))
        _ = queue.insert(start: Seq(50), end: Seq(60))
        _ = queue.insert(start: Seq(30), end: Seq(40))
        let blocks = queue.sackBlocks(limit: 2)
        #expect(blocks.count == 2)
        #expect(blocks[0] == TCPSACKBlock(left: 30, right: 40))
        #expect(blocks[1] == TCPSACKBlock(left: 50, right: 60))
    }

    @Test func worksAcrossSequenceWrap() {
        var queue = TCPReassemblyQueue(capacity: 4)
        let start = Seq(0xffff_fff0)
        _ = queue.insert(start: start + 0x20, end: start + 0x30)
        do { let result = queue.takeContiguous(from: start); #expect(result == nil) }
        _ = queue.insert(start: start, end: start + 0x20)
        do { let result = queue.takeContiguous(from: start); #expect(result == start + 0x30) }
    }
}

@Suite struct SACKScoreboardTests {
    @Test func lossBoundaryNeedsThreeSegmentsAbove() {
        var board = TCPSACKScoreboard(capacity: 8)
        let una = Seq(1000)
        board.update(with: TCPSACKBlocks([TCPSACKBlock(left: 1100, right: 1200)]), una: una, highData: Seq(2000))
        #expect(board.lossBoundary(mss: 100) == nil)
        board.update(with: TCPSACKBlocks([TCPSACKBlock(left: 1200, right: 1400)]), una: una, highData: Seq(2000))
        // 300 SACKed bytes above 1000 > 2 * 100: 1000..<1100 is lost.
        let boundary = board.lossBoundary(mss: 100)
        #expect(boundary != nil && !(boundary! < Seq(1100)))
        #expect(board.nextHole(from: una, limit: boundary!, maxLength: 1000)! == (Seq(1000), 100))
    }

    @Test func ignoresBlocksOutsideTheWindow() {
        var board = TCPSACKScoreboard(capacity: 8)
        board.update(with: TCPSACKBlocks([TCPSACKBlock(left: 500, right: 900), TCPSACKBlock(left: 1500, right: 3000)]),
                     una: Seq(1000), highData: Seq(2000))
        #expect(board.isEmpty)
    }

    @Test func advanceDropsAcknowledgedRanges() {
        var board = TCPSACKScoreboard(capacity: 8)
        board.update(with: TCPSACKBlocks([TCPSACKBlock(left: 1100, right: 1200), TCPSACKBlock(left: 1300, right: 1400)]),
                     una: Seq(1000), highData: Seq(2000))
        board.advance(to: Seq(1350))
        #expect(board.ranges.count == 1)
        #expect(board.sackedBytes == 50)
        #expect(board.unsackedBytes(from: Seq(1350), to: Seq(1500)) == 100)
    }
}

@Suite struct RoundTripEstimatorTests {
    @Test func followsRFC6298() {
        var rtt = TCPRoundTripEstimator(minimum: .milliseconds(200), maximum: .seconds(60), initial: .seconds(1))
        #expect(rtt.timeout == .seconds(1))
        rtt.addSample(.milliseconds(100))
        #expect(rtt.smoothedRTT == .milliseconds(100))
        #expect(rtt.rttVariation == .milliseconds(50))
        #expect(rtt.timeout == .milliseconds(300))  // 100 + 4 * 50
        rtt.addSample(.milliseconds(200))
        #expect(rtt.smoothedRTT == TCPDuration(microseconds: 112_500))
        #expect(rtt.rttVariation == TCPDuration(microseconds: 62_500))
    }

    @Test func clampsToMinimumAndBacksOff() {
        var rtt = TCPRoundTripEstimator(minimum: .milliseconds(200), maximum: .seconds(2), initial: .seconds(1))
        rtt.addSample(.milliseconds(1))
        #expect(rtt.timeout == .milliseconds(200))
        rtt.backOff()
        #expect(rtt.timeout == .milliseconds(400))
        for _ in 0..<10 { rtt.backOff() }
        #expect(rtt.timeout == .seconds(2))
        rtt.addSample(.milliseconds(1))
        #expect(rtt.timeout == .milliseconds(200))
    }
}

@Suite struct CongestionControlTests {
    @Test func newRenoSlowStartWithByteCounting() {
        var reno = TCPNewReno(mss: 1000)
        #expect(reno.congestionWindow == 4000)  // RFC 5681: 4 segments for SMSS <= 1095
        // A stretch ACK (a GRO receiver's) counts whole, as Linux counts it.
        reno.onAcknowledged(bytes: 10_000, mss: 1000, now: .zero, smoothedRTT: nil)
        #expect(reno.congestionWindow == 14_000)
        reno.onAcknowledged(bytes: 1000, mss: 1000, now: .zero, smoothedRTT: nil)
        #expect(reno.congestionWindow == 15_000)
    }

    @Test func newRenoHalvesOnLossAndGrowsLinearly() {
        var reno = TCPNewReno(mss: 1000)
        for _ in 0..<20 { reno.onAcknowledged(bytes: 2000, mss: 1000, now: .zero, smoothedRTT: nil) }
        reno.onFastRecovery(flightSize: 40_000, mss: 1000, now: .zero)
        #expect(reno.slowStartThreshold == 20_000)
        #expect(reno.congestionWindow == 20_000)
        for _ in 0..<20 { reno.onAcknowledged(bytes: 1000, mss: 1000, now: .zero, smoothedRTT: nil) }
        #expect(reno.congestionWindow == 21_000)  // one SMSS per window of ACKed bytes
        reno.onRetransmissionTimeout(flightSize: 10_000, mss: 1000, now: .zero)
        #expect(reno.congestionWindow == 1000)
        #expect(reno.slowStartThreshold == 5000)
    }

    @Test func cubicReducesByBetaAndRegrowsTowardWmax() {
        var cubic = TCPCubic(mss: 1000)
        for _ in 0..<50 { cubic.onAcknowledged(bytes: 2000, mss: 1000, now: .zero, smoothedRTT: nil) }
        let before = cubic.congestionWindow
        cubic.onFastRecovery(flightSize: before, mss: 1000, now: .milliseconds(1000))
        #expect(cubic.congestionWindow == Int(Double(before) * 0.7))
        var now = TCPInstant.milliseconds(1000)
        // K = cbrt(Wmax * (1 - beta) / C) seconds; after about K the window is back near Wmax.
        let k = (Double(before) / 1000 * 0.3 / 0.4).squareRoot()  // an upper bound for cbrt of numbers > 1
        for _ in 0..<Int(k * 100) {
            now = now + .milliseconds(10)
            cubic.onAcknowledged(bytes: 1000, mss: 1000, now: now, smoothedRTT: .milliseconds(10))
        }
        #expect(cubic.congestionWindow >= before * 9 / 10)
        #expect(cubic.congestionWindow > Int(Double(before) * 0.7))
    }

    @Test func controllerDispatchesToChosenAlgorithm() {
        var controller = TCPCongestionController(.cubic, mss: 1000)
        controller.onFastRecovery(flightSize: 10_000, mss: 1000, now: .zero)
        #expect(controller.congestionWindow == 2800)  // CUBIC: 0.7 * initial window (4000)
        var reno = TCPCongestionController(.newReno, mss: 1000)
        reno.onFastRecovery(flightSize: 10_000, mss: 1000, now: .zero)
        #expect(reno.congestionWindow == 5000)
    }
}

@Suite struct SequenceNumberGenerationTests {
    let tuple = TCPFourTuple(local: TCPEndpoint(address: IPv4Address(1, 2, 3, 4), port: 80),
                             remote: TCPEndpoint(address: IPv4Address(5, 6, 7, 8), port: 40000))

    @Test func isnAdvancesWithTheClock() {
        let generator = TCPInitialSequenceNumbers(key: SipHashKey(k0: 1, k1: 2))
        let first = generator.initialSequenceNumber(for: tuple, now: .milliseconds(1000))
        let later = generator.initialSequenceNumber(for: tuple, now: .milliseconds(1004))
        #expect(later - first == 1000)  // 4 microsecond ticks
    }

    @Test func isnDependsOnTupleAndKey() {
        let generator = TCPInitialSequenceNumbers(key: SipHashKey(k0: 1, k1: 2))
        var other = tuple
        other.remote.port = 40001
        #expect(generator.initialSequenceNumber(for: tuple, now: .zero) != generator.initialSequenceNumber(for: other, now: .zero))
        let otherKey = TCPInitialSequenceNumbers(key: SipHashKey(k0: 1, k1: 3))
        #expect(generator.initialSequenceNumber(for: tuple, now: .zero) != otherKey.initialSequenceNumber(for: tuple, now: .zero))
    }

    @Test func cookieRoundTripsOptions() throws {
        let cookies = TCPSYNCookies(key: SipHashKey(k0: 9, k1: 9))
        let client = Seq(123_456)
        let isn = cookies.make(tuple: tuple, clientISN: client, mss: 1400, windowScale: 9, sackPermitted: true, now: .milliseconds(5000))
        let decoded = try #require(cookies.check(tuple: tuple, clientISN: client, ourISN: isn, now: .milliseconds(70_000)))
        #expect(decoded.maximumSegmentSize == 1400)
        #expect(decoded.windowScale == 9)
        #expect(decoded.sackPermitted)
        let none = cookies.make(tuple: tuple, clientISN: client, mss: 1000, windowScale: nil, sackPermitted: false, now: .zero)
        let plain = try #require(cookies.check(tuple: tuple, clientISN: client, ourISN: none, now: .zero))
        #expect(plain.maximumSegmentSize == 536 && plain.windowScale == nil && !plain.sackPermitted)
    }

    @Test func cookieRejectsTamperingAndAge() {
        let cookies = TCPSYNCookies(key: SipHashKey(k0: 9, k1: 9))
        let client = Seq(1)
        let isn = cookies.make(tuple: tuple, clientISN: client, mss: 1460, windowScale: 7, sackPermitted: true, now: .zero)
        #expect(cookies.check(tuple: tuple, clientISN: client, ourISN: isn + 1, now: .zero) == nil)
        #expect(cookies.check(tuple: tuple, clientISN: client + 1, ourISN: isn, now: .zero) == nil)
        var other = tuple
        other.remote.port = 1
        #expect(cookies.check(tuple: other, clientISN: client, ourISN: isn, now: .zero) == nil)
        #expect(cookies.check(tuple: tuple, clientISN: client, ourISN: isn, now: .milliseconds(200_000)) == nil)
    }
}
