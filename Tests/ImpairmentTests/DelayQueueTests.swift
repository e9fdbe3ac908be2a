import Impairment
import Testing

@Suite struct DelayQueueTests {
    /// Frames of one byte (their tag) for reading the release order back.
    func enqueue(_ queue: DelayQueue, tag: UInt8, release: UInt64) -> Bool {
        [tag].withUnsafeBytes { queue.enqueue($0, release: release) }
    }

    func releasedTags(_ queue: DelayQueue, now: UInt64) -> [UInt8] {
        var tags: [UInt8] = []
        queue.releaseDue(now: now) { tags.append($0[0]) }
        return tags
    }

    @Test func releasesInTimeOrderNotArrivalOrder() {
        let queue = DelayQueue(capacity: 8, frameCapacity: 16)
        #expect(enqueue(queue, tag: 1, release: 300))
        #expect(enqueue(queue, tag: 2, release: 100))
        #expect(enqueue(queue, tag: 3, release: 200))
        #expect(queue.nextRelease == 100)
        #expect(releasedTags(queue, now: 1000) == [2, 3, 1])
        #expect(queue.isEmpty)
        #expect(queue.nextRelease == nil)
    }

    @Test func equalReleaseTimesKeepArrivalOrder() {
        let queue = DelayQueue(capacity: 64, frameCapacity: 4)
        for tag in 0..<50 { #expect(enqueue(queue, tag: UInt8(tag), release: 500)) }
        #expect(releasedTags(queue, now: 500) == (0..<50).map(UInt8.init))
    }

    @Test func nothingLeavesBeforeItsTime() {
        let queue = DelayQueue(capacity: 8, frameCapacity: 4)
        _ = enqueue(queue, tag: 1, release: 100)
        _ = enqueue(queue, tag: 2, release: 200)
        #expect(releasedTags(queue, now: 99).isEmpty)
        #expect(releasedTags(queue, now: 150) == [1])
        #expect(queue.nextRelease == 200)
        #expect(releasedTags(queue, now: 200) == [2])
    }

    @Test func fullQueueRefusesAndSlotsAreReusedAfterRelease() {
        let queue = DelayQueue(capacity: 2, frameCapacity: 4)
        #expect(enqueue(queue, tag: 1, release: 10))
        #expect(enqueue(queue, tag: 2, release: 20))
        #expect(queue.isFull)
        #expect(!enqueue(queue, tag: 3, release: 5))
        #expect(releasedTags(queue, now: 10) == [1])
        #expect(enqueue(queue, tag: 4, release: 15))
        #expect(releasedTags(queue, now: 100) == [4, 2])
    }

    @Test func frameLongerThanASlotIsRefused() {
        let queue = DelayQueue(capacity: 4, frameCapacity: 1514)
        let long = [UInt8](repeating: 7, count: 1515)
        #expect(!long.withUnsafeBytes { queue.enqueue($0, release: 1) })
        #expect(queue.isEmpty)
    }

    @Test func contentsSurviveTheWait() {
        let queue = DelayQueue(capacity: 4, frameCapacity: 1514)
        let frames = (0..<4).map { n in (0..<(60 + n * 400)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n) } }
        for (n, frame) in frames.enumerated() {
            #expect(frame.withUnsafeBytes { queue.enqueue($0, release: UInt64(10 - n)) })
        }
        var out: [[UInt8]] = []
        queue.releaseDue(now: 10) { out.append(Array($0)) }
        #expect(out == frames.reversed())
    }

    @Test func manyRandomReleaseTimesComeOutSorted() {
        var random = ImpairmentRandom(seed: 21)
        let queue = DelayQueue(capacity: 1000, frameCapacity: 8)
        var expected: [(UInt64, Int)] = []
        for n in 0..<1000 {
            let release = random.next() % 50
            var value = UInt32(n)
            #expect(withUnsafeBytes(of: &value) { queue.enqueue($0, release: release) })
            expected.append((release, n))
        }
        var order: [Int] = []
        queue.releaseDue(now: .max) { order.append(Int($0.loadUnaligned(as: UInt32.self))) }
        // Sorted by release time, ties by arrival: a stable sort of the input.
        #expect(order == expected.enumerated().sorted { l, r in
            l.element.0 != r.element.0 ? l.element.0 < r.element.0 : l.offset < r.offset
        }.map { $0.element.1 })
    }
}
