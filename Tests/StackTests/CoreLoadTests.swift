import Testing
@testable import Stack

/// CoreLoad: each turn's cycles go to busy or idle by what the turn found;
/// a sleep counts idle; `since` gives an interval's share.
@Suite struct CoreLoadTests {
    @Test func turnsAreCountedByWhatTheyFound() {
        var load = CoreLoad()
        load.countTurn(endingAt: 1_000, busy: true)  // the first turn only starts the count
        #expect(load.busyCycles == 0 && load.busyTurns == 1)
        load.countTurn(endingAt: 1_300, busy: true)
        load.countTurn(endingAt: 1_400, busy: false)
        load.countIdle(until: 2_000)  // a sleep after the idle turn
        let before = load
        load.countTurn(endingAt: 2_500, busy: true)
        #expect(load.busyCycles == 800)
        #expect(load.idleCycles == 700)
        #expect(load.busyTurns == 3 && load.idleTurns == 1)
        #expect(abs(load.busyFraction - 800.0 / 1500.0) < 1e-9)
        let interval = load.since(before)
        #expect(interval.busyCycles == 500 && interval.idleCycles == 0 && interval.busyFraction == 1)
        #expect(CoreLoad().busyFraction == 0)
    }

    @Test func aClockThatGoesBackCountsNothing() {
        var load = CoreLoad()
        load.countTurn(endingAt: 5_000, busy: false)
        load.countTurn(endingAt: 4_000, busy: true)  // another CPU's TSC, slightly behind
        load.countIdle(until: 3_000)
        #expect(load.busyCycles == 0 && load.idleCycles == 0)
    }
}
