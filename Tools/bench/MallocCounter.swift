import MallocInterposerSwift

/// Counts heap allocations made while `body` runs, through ordo-one's
/// malloc interposer (linked into dp-bench, so every malloc of the process
/// goes through it).
func countMallocs(_ body: () -> Void) -> Int {
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    body()
    MallocInterposerSwift.unhook()
    return Int(MallocInterposerSwift.getStatistics().mallocCount)
}
