import Atomics
import Foundation
import Platform

/// Share-nothing scaling: the same echo on 1 core and on N cores at once
/// (each core with its own pool, loopback pair, stacks and sockets, on a
/// pinned thread), alternating rounds in one run. The cores start
/// measuring together (after each has warmed up) and the aggregate is the
/// sum of their rates; the ratio N-core / 1-core is the scaling.
struct CoreScaling {
    let cores: Int
    let rounds: Int
    /// One core's echo: setup, warm-up, `startLine()`, then the measured
    /// part; returns the operations per second it measured.
    let echo: @Sendable (_ startLine: @escaping () -> Void) throws -> Double

    struct Round: Codable {
        var oneCore: Double
        var nCores: Double
        var perCore: [Double]
        var ratio: Double { nCores / oneCore }
    }

    /// Iterations per second of a loop that touches no memory (xorshift64
    /// in a register, a dependent chain the optimiser cannot fold, as it can
    /// an LCG's): the baseline of what N cores can give at once.
    static func spinRate(iterations: Int = 300_000_000) -> Double {
        let start = TSCClock.monotonicNanoseconds()
        var x: UInt64 = 88_172_645_463_325_252
        for _ in 0..<iterations { x ^= x << 13; x ^= x >> 7; x ^= x << 17 }
        let seconds = Double(TSCClock.monotonicNanoseconds() - start) / 1e9
        // Using x keeps the loop (its result is observable).
        return x == 42 ? 0 : Double(iterations) / seconds
    }

    func run() throws -> [Round] {
        var results: [Round] = []
        for _ in 0..<rounds {
            let single = try aggregate(over: 1)
            let parallel = try aggregate(over: cores)
            results.append(Round(oneCore: single.reduce(0, +), nCores: parallel.reduce(0, +), perCore: parallel))
        }
        return results
    }

    /// Runs `echo` on `count` pinned threads at once; their measured rates.
    private func aggregate(over count: Int) throws -> [Double] {
        let cpus = Cores.availableCPUs()
        let ready = ManagedAtomic<Int>(0)
        let outcomes = Outcomes(count: count)
        let echo = self.echo
        let group = try Cores.launch(on: (0..<count).map { cpus[$0 % cpus.count] }) { core in
            // The start line: every core has warmed up before any measures.
            let startLine = {
                ready.wrappingIncrement(ordering: .acquiringAndReleasing)
                let deadline = TSCClock.monotonicNanoseconds() + 30_000_000_000
                while ready.load(ordering: .acquiring) < count && TSCClock.monotonicNanoseconds() < deadline {}
            }
            outcomes.set(core.index, Result { try echo(startLine) })
        }
        group.wait()
        return try outcomes.values()
    }
}

/// Each core's result, written once by its own thread (its own slot) and
/// read after every thread has joined.
private final class Outcomes: @unchecked Sendable {
    let count: Int
    let slots: UnsafeMutablePointer<Result<Double, any Error>?>
    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }
    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
    func set(_ index: Int, _ result: Result<Double, any Error>) { slots[index] = result }
    func values() throws -> [Double] { try (0..<count).map { try slots[$0]!.get() } }
}
