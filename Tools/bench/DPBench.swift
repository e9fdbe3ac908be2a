import ArgumentParser

/// `dp-bench`: Dataplane's benchmarks, each measured side by side with its
/// peer (DPDK's own test programs, or the Linux kernel) in the same run.
@main
struct DPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-bench",
        abstract: "Benchmarks of Dataplane against DPDK and Linux, side by side in one run.",
        subcommands: [RingCommand.self, PoolCommand.self])
}

/// Options every suite shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Folder for the JSON results (and plots).")
    var results = "results"

    @Option(help: "Repetitions per figure; the median is reported.")
    var repetitions = 3

    @Flag(help: "Skip the peer (DPDK) measurement.")
    var noPeer = false

    @Flag(help: "Shorter measurements (for smoke tests).")
    var quick = false

    @Option(help: "Run only the figures whose name contains this text (only the one named so, when a name is exactly this).")
    var only: String?

    /// Whether `--only` selects the figure `name` out of `names`.
    func selects(_ name: String, among names: [String]) -> Bool {
        guard let only else { return true }
        return names.contains(only) ? name == only : name.contains(only)
    }
}

struct RingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Ring enqueue+dequeue cost (cycles per element) vs DPDK's ring_perf_autotest.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Enqueue+dequeue calls per measurement instead of the default (for instruction counts under callgrind: run twice, N and 2N, and divide the difference).")
    var iterations: Int?

    func run() throws {
        let report = try RingBenchmark(options: options, iterations: iterations).run()
        try report.finish(options: options)
    }
}

struct PoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Packet pool get+put rate vs DPDK's mempool (rte_mempool_get_bulk/put_bulk, rte_pktmbuf_alloc_bulk/free_bulk).")

    @OptionGroup var options: CommonOptions

    @Option(help: "Seconds DPDK's own mempool_perf_autotest may run as a cross-check of the raw rows' peer (0, the default, skips it; it runs each of its ~360 cases 5 s, the uncached one-core cases first, the cached ones after ~15 minutes).")
    var peerSeconds = 0

    @Option(help: "Blocks of 64 rounds (64 x 128 objects) per measurement instead of a time budget (for instruction counts under callgrind: run N and 2N, divide the difference).")
    var iterations: Int?

    func run() throws {
        let report = try PoolBenchmark(options: options, peerSeconds: peerSeconds, iterations: iterations).run()
        try report.finish(options: options)
    }
}
