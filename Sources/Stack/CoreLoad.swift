/// Where a polling core's time goes: the TSC cycles of its loop's turns
/// that found work (busy) against those that found none, spinning or
/// asleep (idle). A poll-mode core shows 100% CPU to `top` whatever its
/// load; this is the figure that says how close it is to saturation —
/// F-Stack's `ff_top` (usr/sys/idle per core) and DPDK's lcore busy cycles
/// (`rte_lcore_register_usage_cb`, `/eal/lcore/usage`).
///
/// `CoreIdle.afterPoll(work:)` counts it: one TSC read per turn, which
/// closes the turn that just ended (busy when it found work); a sleep or an
/// interrupt wait is counted idle when it ends. Read on the core's thread
/// (telemetry asks through the stack's mailbox).
public struct CoreLoad: Sendable, Equatable {
    /// Cycles of turns that found work (frames, timers, socket calls).
    public var busyCycles: UInt64 = 0
    /// Cycles of turns that found nothing, sleeps and interrupt waits.
    public var idleCycles: UInt64 = 0
    public var busyTurns: UInt64 = 0
    public var idleTurns: UInt64 = 0
    /// The TSC where the turn being counted began (0: nothing counted yet).
    var turnStart: UInt64 = 0

    public init() {}

    /// Busy cycles over all counted cycles, 0...1 (0 before any turn).
    public var busyFraction: Double {
        let total = busyCycles &+ idleCycles
        return total == 0 ? 0 : Double(busyCycles) / Double(total)
    }

    /// The change since `earlier`: the load of an interval between two snapshots.
    public func since(_ earlier: CoreLoad) -> CoreLoad {
        var interval = CoreLoad()
        interval.busyCycles = busyCycles &- earlier.busyCycles
        interval.idleCycles = idleCycles &- earlier.idleCycles
        interval.busyTurns = busyTurns &- earlier.busyTurns
        interval.idleTurns = idleTurns &- earlier.idleTurns
        return interval
    }

    /// Closes the turn that ended at `now`.
    @inline(__always)
    mutating func countTurn(endingAt now: UInt64, busy: Bool) {
        // The first turn has no start: it begins the count.
        let cycles = turnStart == 0 || now < turnStart ? 0 : now &- turnStart
        if busy {
            busyCycles &+= cycles
            busyTurns &+= 1
        } else {
            idleCycles &+= cycles
            idleTurns &+= 1
        }
        turnStart = now
    }

    /// Counts a sleep or wait that ended at `now` as idle (the next turn starts there).
    @inline(__always)
    mutating func countIdle(until now: UInt64) {
        if turnStart != 0, now > turnStart { idleCycles &+= now &- turnStart }
        turnStart = now
    }
}
