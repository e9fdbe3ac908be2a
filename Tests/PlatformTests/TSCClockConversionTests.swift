import Platform
import Testing

@Suite struct TSCClockConversionTests {
    @Test func cyclesAndNanosecondsConvertBothWays() {
        let clock = TSCClock(cyclesPerSecond: 2_000_000_000)
        #expect(clock.cycles(fromNanoseconds: 1_000) == 2_000)
        #expect(clock.nanoseconds(fromCycles: 3_000_000) == 1_500_000)
    }

    @Test func theCounterMovesForward() {
        let a = TSCClock.cycles()
        let b = TSCClock.cycles()
        #expect(b >= a)
        #expect(TSCClock.shared.cyclesPerSecond > 1_000_000)
    }
}
