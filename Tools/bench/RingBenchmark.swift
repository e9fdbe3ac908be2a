import CPlatform
import Packets
import Platform
import Synchronization

/// Ring cost in TSC cycles per element for one enqueue plus one dequeue,
/// measured as DPDK's ring_perf_autotest measures it (8-byte elements, its
/// "legacy APIs" lines): on one core, and with producer and consumer on two
/// cores (where the figure is producer cycles + consumer cycles per element).
struct RingBenchmark {
    let options: CommonOptions
    /// Calls per measurement, when given (`--iterations`).
    var iterations: Int?

    struct Case {
        let name: String
        let sync: RingSync
        let size: Int
        let burst: Bool
        let twoCores: Bool
        /// The section and label of DPDK's line with the same measurement.
        let dpdkSection: String
        let dpdkLabel: String
    }

    static let cases: [Case] = {
        var cases = [Case]()
        for sync in [RingSync.single, .multi] {
            let mode = sync == .single ? "SP/SC" : "MP/MC"
            cases.append(Case(name: "\(mode) single", sync: sync, size: 1, burst: false, twoCores: false,
                              dpdkSection: "single element", dpdkLabel: "\(mode): single"))
            for size in [8, 32] {
                cases.append(Case(name: "\(mode) bulk \(size)", sync: sync, size: size, burst: false, twoCores: false,
                                  dpdkSection: "bulk enq/deq", dpdkLabel: "\(mode): bulk (size: \(size))"))
                cases.append(Case(name: "\(mode) burst \(size)", sync: sync, size: size, burst: true, twoCores: false,
                                  dpdkSection: "burst enq/deq", dpdkLabel: "\(mode): burst (size: \(size))"))
            }
        }
        for sync in [RingSync.single, .multi] {
            let mode = sync == .single ? "SP/SC" : "MP/MC"
            for size in [8, 32] {
                cases.append(Case(name: "\(mode) bulk \(size), 2 cores", sync: sync, size: size, burst: false, twoCores: true,
                                  dpdkSection: "two physical cores", dpdkLabel: "\(mode): bulk (size: \(size))"))
            }
        }
        return cases
    }()

    func run() throws -> BenchmarkReport {
        var notes = [String]()
        let peer: [String: Double]
        if options.noPeer {
            peer = [:]
        } else if DPDKTest.isAvailable {
            peer = try Self.measureDPDK()
            if peer.isEmpty { notes.append("dpdk-test printed no ring figures") }
        } else {
            peer = [:]
            notes.append("dpdk-test not installed (apt-get install dpdk): no peer figures")
        }

        let cpus = Cores.availableCPUs()
        var figures = [Figure]()
        for benchCase in Self.cases where options.selects(benchCase.name, among: Self.cases.map(\.name)) {
            if benchCase.twoCores && cpus.count < 2 {
                notes.append("\(benchCase.name): skipped, one CPU available")
                continue
            }
            let iterations = self.iterations
                ?? (options.quick ? 1 << 14 : (benchCase.twoCores ? 1 << 20 : 1 << 21) / benchCase.size)
            var samples = [Double]()
            for _ in 0..<max(1, options.repetitions) {
                samples.append(try measure(benchCase, iterations: iterations, cpus: cpus))
            }
            let mallocs = try mallocsPerElement(benchCase, cpus: cpus)
            let key = benchCase.dpdkSection + "|" + benchCase.dpdkLabel
            figures.append(Figure(
                name: benchCase.name, unit: "cycles/elem", better: "lower", ours: median(samples),
                peer: peer[key], peerName: "DPDK ring_perf_autotest", mallocsPerOperation: mallocs))
        }
        notes.append("cycles are TSC ticks (\(TSCClock.shared.cyclesPerSecond / 1_000_000) MHz); ours is the median of \(options.repetitions) runs, DPDK's one run of its test in the same invocation")
        return BenchmarkReport(suite: "ring", environment: .current(), figures: figures, notes: notes)
    }

    /// Cycles per element (enqueue + dequeue).
    func measure(_ benchCase: Case, iterations: Int, cpus: [Int]) throws -> Double {
        let ring = try Ring<UnsafeMutableRawPointer>(capacity: 4096, producers: benchCase.sync, consumers: benchCase.sync)
        if benchCase.twoCores { return try measureTwoCores(ring, benchCase, iterations: iterations, cpus: cpus) }
        let values = UnsafeMutableBufferPointer<UnsafeMutableRawPointer>.allocate(capacity: benchCase.size)
        values.initialize(repeating: UnsafeMutableRawPointer(bitPattern: 0x1000)!)
        defer { values.deallocate() }
        // The mode at compile time, as DPDK's test calls rte_ring_sp_enqueue(_bulk,
        // _burst) or rte_ring_mp_...: one loop function per case and mode.
        let single = benchCase.sync == .single
        let cycles: UInt64
        if benchCase.size == 1 {
            cycles = single ? Self.loopSingleSP(ring, values, iterations) : Self.loopSingleMP(ring, values, iterations)
        } else if benchCase.burst {
            cycles = single ? Self.loopBurstSP(ring, values, iterations) : Self.loopBurstMP(ring, values, iterations)
        } else {
            cycles = single ? Self.loopBulkSP(ring, values, iterations) : Self.loopBulkMP(ring, values, iterations)
        }
        return Double(cycles) / Double(iterations * benchCase.size)
    }

    // One function per loop, as DPDK's test has one per case: each call
    // site is inlined on its own merits, not against the size of the others.
    typealias Values = UnsafeMutableBufferPointer<UnsafeMutableRawPointer>
    @inline(never) static func loopSingleSP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        let value = values[0]
        return loop(n) { _ = ring.enqueue(value, producers: RingSyncSingle.self); _ = ring.dequeue(consumers: RingSyncSingle.self) }
    }
    @inline(never) static func loopSingleMP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        let value = values[0]
        return loop(n) { _ = ring.enqueue(value, producers: RingSyncMulti.self); _ = ring.dequeue(consumers: RingSyncMulti.self) }
    }
    @inline(never) static func loopBurstSP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        loop(n) {
            _ = ring.enqueue(burst: UnsafeBufferPointer(values), producers: RingSyncSingle.self)
            _ = ring.dequeue(burst: values, consumers: RingSyncSingle.self)
        }
    }
    @inline(never) static func loopBurstMP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        loop(n) {
            _ = ring.enqueue(burst: UnsafeBufferPointer(values), producers: RingSyncMulti.self)
            _ = ring.dequeue(burst: values, consumers: RingSyncMulti.self)
        }
    }
    @inline(never) static func loopBulkSP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        loop(n) {
            ring.enqueue(bulk: UnsafeBufferPointer(values), producers: RingSyncSingle.self)
            ring.dequeue(bulk: values, consumers: RingSyncSingle.self)
        }
    }
    @inline(never) static func loopBulkMP(_ ring: Ring<UnsafeMutableRawPointer>, _ values: Values, _ n: Int) -> UInt64 {
        loop(n) {
            ring.enqueue(bulk: UnsafeBufferPointer(values), producers: RingSyncMulti.self)
            ring.dequeue(bulk: values, consumers: RingSyncMulti.self)
        }
    }

    /// TSC cycles of `iterations` runs of `body` (inlined into each loop function).
    @inline(__always)
    static func loop(_ iterations: Int, _ body: () -> Void) -> UInt64 {
        let start = dp_rdtsc()
        for _ in 0..<iterations { body() }
        return dp_rdtsc() - start
    }

    private func measureTwoCores(
        _ ring: Ring<UnsafeMutableRawPointer>, _ benchCase: Case, iterations: Int, cpus: [Int]
    ) throws -> Double {
        let ready = Atomic<Int>(0)
        let cycles = Mutex<[Int: UInt64]>([:])
        let size = benchCase.size
        let group = try Cores.launch(on: [cpus[0], cpus[1]]) { core in
            let values = UnsafeMutableBufferPointer<UnsafeMutableRawPointer>.allocate(capacity: size)
            values.initialize(repeating: UnsafeMutableRawPointer(bitPattern: 0x1000)!)
            defer { values.deallocate() }
            ready.add(1, ordering: .sequentiallyConsistent)
            while ready.load(ordering: .sequentiallyConsistent) < 2 { dp_pause() }
            let start = dp_rdtsc()
            if core.index == 0 {
                let input = UnsafeBufferPointer(values)
                for _ in 0..<iterations { while !ring.enqueue(bulk: input) { dp_pause() } }
            } else {
                for _ in 0..<iterations { while !ring.dequeue(bulk: values) { dp_pause() } }
            }
            let elapsed = dp_rdtsc() - start
            cycles.withLock { $0[core.index] = elapsed }
        }
        group.wait()
        let sides = cycles.withLock { $0 }
        return sides.values.map { Double($0) / Double(iterations * size) }.reduce(0, +)
    }

    private func mallocsPerElement(_ benchCase: Case, cpus: [Int]) throws -> Double {
        guard !benchCase.twoCores else { return try mallocsTwoCores(benchCase, cpus: cpus) }
        let iterations = 10_000
        _ = try measure(benchCase, iterations: 100, cpus: cpus)  // warm up
        let ring = try Ring<UnsafeMutableRawPointer>(capacity: 4096, producers: benchCase.sync, consumers: benchCase.sync)
        let values = UnsafeMutableBufferPointer<UnsafeMutableRawPointer>.allocate(capacity: benchCase.size)
        values.initialize(repeating: UnsafeMutableRawPointer(bitPattern: 0x1000)!)
        defer { values.deallocate() }
        let count = countMallocs {
            for _ in 0..<iterations {
                if benchCase.size == 1 {
                    _ = ring.enqueue(values[0])
                    _ = ring.dequeue()
                } else if benchCase.burst {
                    _ = ring.enqueue(burst: UnsafeBufferPointer(values))
                    _ = ring.dequeue(burst: values)
                } else {
                    ring.enqueue(bulk: UnsafeBufferPointer(values))
                    ring.dequeue(bulk: values)
                }
            }
        }
        return Double(count) / Double(iterations * benchCase.size)
    }

    /// The two-core loop allocates nothing per element either; counting
    /// around a whole launch would count the thread start, so this counts
    /// the same enqueue/dequeue calls on one thread.
    private func mallocsTwoCores(_ benchCase: Case, cpus: [Int]) throws -> Double {
        let single = Case(name: benchCase.name, sync: benchCase.sync, size: benchCase.size, burst: false,
                          twoCores: false, dpdkSection: "", dpdkLabel: "")
        return try mallocsPerElement(single, cpus: cpus)
    }

    /// DPDK's figures keyed by "section|label", from its legacy-API lines.
    static func measureDPDK() throws -> [String: Double] {
        var section = ""
        var figures = [String: Double]()
        try DPDKTest.run(command: "ring_perf_autotest", seconds: 120) { line in
            if line.hasPrefix("###") {
                let lower = line.lowercased()
                for name in ["single element", "burst enq/deq", "bulk enq/deq", "empty bulk deq", "two physical cores", "all worker"]
                where lower.contains(name) {
                    section = name
                }
                return false
            }
            if line.hasPrefix("elem APIs") { return true }  // legacy (8-byte) lines are done
            guard line.hasPrefix("legacy APIs: "),
                let colon = line.lastIndex(of: ":"),
                let value = Double(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            else { return false }
            let label = String(line.dropFirst("legacy APIs: ".count)[..<colon])
            // DPDK 22.11 prints single-core bulk and burst figures per call
            // (size elements enqueued and dequeued); two-core ones per element.
            var perElement = value
            if section == "burst enq/deq" || section == "bulk enq/deq",
                let open = label.range(of: "(size: "), let size = Double(label[open.upperBound...].dropLast())
            {
                perElement = value / size
            }
            figures[section + "|" + label] = perElement
            return false
        }
        return figures
    }
}
