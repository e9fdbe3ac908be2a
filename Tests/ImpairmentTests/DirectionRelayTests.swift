import Impairment
import Testing

@Suite struct DirectionRelayTests {
    /// The wire: what the relay sent, by tag, in order.
    final class Wire {
        var tags: [UInt8] = []
        var accepts = true
        func send(_ frame: UnsafeRawBufferPointer) -> Bool {
            guard accepts else { return false }
            tags.append(frame[0])
            return true
        }
    }

    func frame(_ tag: UInt8, length: Int = 60) -> [UInt8] {
        [tag] + [UInt8](repeating: 0xEE, count: length - 1)
    }

    @Test func cleanRelayPassesEverythingAtOnceInOrder() {
        let relay = DirectionRelay(settings: .none, seed: 1, maximumFrame: 1514)
        let wire = Wire()
        for tag in 0..<100 {
            frame(UInt8(tag)).withUnsafeBytes { relay.relay($0, now: UInt64(tag), send: wire.send) }
        }
        #expect(wire.tags == (0..<100).map(UInt8.init))
        #expect(relay.nextRelease == nil)
        #expect(relay.statistics.framesIn == 100)
        #expect(relay.statistics.passed == 100)
        #expect(relay.statistics.bytesIn == 6000)
        #expect(relay.statistics.bytesOut == 6000)
    }

    @Test func reorderedFrameIsOvertakenByLaterFrames() {
        // Every frame held 3 ms: with reorder 1 nothing passes at once.
        let relay = DirectionRelay(settings: ImpairmentSettings(reorder: 1, reorderDelay: 3_000_000), seed: 1,
                                   maximumFrame: 1514)
        let wire = Wire()
        frame(1).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) }
        #expect(wire.tags.isEmpty)
        #expect(relay.nextRelease == 3_000_000)
        relay.releaseDue(now: 2_999_999, send: wire.send)
        #expect(wire.tags.isEmpty)
        relay.releaseDue(now: 3_000_000, send: wire.send)
        #expect(wire.tags == [1])
        #expect(relay.statistics.reordered == 1)
    }

    @Test func laterCleanFramesPassAHeldOne() {
        // Half the frames reordered: the held ones come out after later ones.
        let relay = DirectionRelay(settings: ImpairmentSettings(reorder: 0.5, reorderDelay: 1_000_000), seed: 4,
                                   maximumFrame: 1514)
        let wire = Wire()
        for tag in 0..<20 {
            frame(UInt8(tag)).withUnsafeBytes { relay.relay($0, now: UInt64(tag) * 100_000, send: wire.send) }
            relay.releaseDue(now: UInt64(tag) * 100_000, send: wire.send)
        }
        relay.releaseDue(now: .max, send: wire.send)
        #expect(wire.tags.count == 20)
        #expect(Set(wire.tags) == Set((0..<20).map(UInt8.init)))
        #expect(wire.tags != (0..<20).map(UInt8.init), "some frames must have been overtaken")
        #expect(relay.statistics.reordered > 0)
        #expect(relay.statistics.passed == 20)
    }

    @Test func duplicatedFrameLeavesTwice() {
        let relay = DirectionRelay(settings: ImpairmentSettings(duplicate: 1), seed: 1, maximumFrame: 1514)
        let wire = Wire()
        frame(9).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) }
        #expect(wire.tags == [9, 9])
        #expect(relay.statistics.duplicated == 1)
        #expect(relay.statistics.passed == 2)
        #expect(relay.statistics.bytesOut == 120)
    }

    @Test func droppedFramesAreCountedAndNeverSent() {
        let relay = DirectionRelay(settings: ImpairmentSettings(loss: 1), seed: 1, maximumFrame: 1514)
        let wire = Wire()
        for tag in 0..<10 { frame(UInt8(tag)).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) } }
        #expect(wire.tags.isEmpty)
        #expect(relay.statistics.dropped == 10)
        #expect(relay.statistics.passed == 0)
    }

    @Test func oversizedFrameIsCountedAndDropped() {
        let relay = DirectionRelay(settings: .none, seed: 1, maximumFrame: 1514)
        let wire = Wire()
        frame(1, length: 1515).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) }
        frame(2, length: 1514).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) }
        #expect(wire.tags == [2])
        #expect(relay.statistics.oversized == 1)
        #expect(relay.statistics.unintendedDrops == 1)
    }

    @Test func fullDelayQueueCountsOverflow() {
        let relay = DirectionRelay(settings: ImpairmentSettings(delay: 1_000), seed: 1, maximumFrame: 100,
                                   queueCapacity: 2)
        let wire = Wire()
        for tag in 0..<3 { frame(UInt8(tag)).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) } }
        relay.releaseDue(now: 1_000, send: wire.send)
        #expect(wire.tags == [0, 1])
        #expect(relay.statistics.queueOverflow == 1)
    }

    @Test func refusedSendIsCountedAsSendError() {
        let relay = DirectionRelay(settings: .none, seed: 1, maximumFrame: 1514)
        let wire = Wire()
        wire.accepts = false
        frame(1).withUnsafeBytes { relay.relay($0, now: 0, send: wire.send) }
        #expect(relay.statistics.sendErrors == 1)
        #expect(relay.statistics.passed == 0)
    }

    @Test func issueImpairmentOverManyFramesLosesAboutFourPercent() {
        let settings = ImpairmentSettings(loss: 0.04, duplicate: 0.01, reorder: 0.22, reorderDelay: 3_000_000)
        let relay = DirectionRelay(settings: settings, seed: 17, maximumFrame: 1514)
        let wire = Wire()
        let frames = 50_000
        for n in 0..<frames {
            let now = UInt64(n) * 10_000  // one frame every 10 µs
            frame(UInt8(truncatingIfNeeded: n)).withUnsafeBytes { relay.relay($0, now: now, send: wire.send) }
            relay.releaseDue(now: now, send: wire.send)
        }
        relay.releaseDue(now: .max, send: wire.send)
        let s = relay.statistics
        #expect(s.passed == UInt64(frames) - s.dropped + s.duplicated)
        #expect(UInt64(wire.tags.count) == s.passed)
        #expect(abs(Double(s.dropped) / Double(frames) - 0.04) < 0.005)
        #expect(s.unintendedDrops == 0)
    }
}
