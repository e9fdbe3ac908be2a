@testable import Stack
import Testing

@Suite struct TimerWheelTests {
    /// Ticks of 10 cycles; the test moves "now" by hand.
    func wheel(capacity: Int = 8, slots: Int = 8) -> TimerWheel<Int> {
        TimerWheel<Int>(capacity: capacity, slotCount: slots, tickCycles: 10, now: 0)
    }

    @Test func firesAtOrAfterTheDeadlineNeverBefore() {
        let timers = wheel()
        _ = timers.schedule(at: 35, 1)
        _ = timers.schedule(at: 10, 2)
        var fired: [Int] = []
        timers.advance(to: 29) { fired.append($0) }
        #expect(fired == [2])
        timers.advance(to: 39) { fired.append($0) }
        #expect(fired == [2])
        timers.advance(to: 40) { fired.append($0) }
        #expect(fired == [2, 1])
        #expect(timers.activeCount == 0)
    }

    @Test func timersBeyondOneTurnWaitForTheirRound() {
        let timers = wheel(slots: 4)
        _ = timers.schedule(at: 95, 7)  // tick 10: two and a half turns out
        var fired: [Int] = []
        for now in stride(from: 0, through: 90, by: 10) { timers.advance(to: UInt64(now)) { fired.append($0) } }
        #expect(fired.isEmpty)
        timers.advance(to: 100) { fired.append($0) }
        #expect(fired == [7])
    }

    @Test func aLongJumpFiresEverythingDue() {
        let timers = wheel(slots: 4)
        for i in 0..<6 { _ = timers.schedule(at: UInt64(10 + i * 25), i) }
        var fired: [Int] = []
        timers.advance(to: 10_000) { fired.append($0) }
        #expect(fired.sorted() == [0, 1, 2, 3, 4, 5])
    }

    @Test func cancelledTimersDoNotFireAndStaleHandlesCancelNothing() {
        let timers = wheel()
        let a = timers.schedule(at: 20, 1)!
        let b = timers.schedule(at: 20, 2)!
        #expect(timers.cancel(a))
        #expect(!timers.cancel(a))
        var fired: [Int] = []
        timers.advance(to: 20) { fired.append($0) }
        #expect(fired == [2])
        #expect(!timers.cancel(b))
        // The node of `a` is reused; the old handle must not cancel the new timer.
        let c = timers.schedule(at: 40, 3)!
        #expect(!timers.cancel(a))
        timers.advance(to: 40) { fired.append($0) }
        #expect(fired == [2, 3])
        _ = c
    }

    @Test func aFullWheelRefuses() {
        let timers = wheel(capacity: 2)
        #expect(timers.schedule(at: 10, 1) != nil)
        #expect(timers.schedule(at: 10, 2) != nil)
        #expect(timers.schedule(at: 10, 3) == nil)
    }

    @Test func firingMayScheduleAndCancel() {
        let timers = wheel()
        let later = timers.schedule(at: 20, 99)!
        _ = timers.schedule(at: 20, 1)
        var fired: [Int] = []
        timers.advance(to: 20) { value in
            fired.append(value)
            if value == 1 {
                timers.cancel(later)
                _ = timers.schedule(at: 30, 2)
            }
        }
        timers.advance(to: 30) { fired.append($0) }
        #expect(fired.contains(1) && fired.contains(2))
        // 99 fired only if it ran before 1 cancelled it.
        #expect(fired.filter { $0 == 99 }.count <= 1)
    }
}
