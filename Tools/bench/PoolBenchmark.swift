import CPlatform
import Foundation
import Packets
import Platform

/// Packet pool throughput in objects per second (each object got and put
/// once), measured as DPDK's mempool_perf_autotest measures it: keep 128
/// objects, get them in bulks of n, put them back in bulks of n, repeat.
/// Two paths, each beside its own peer (PktmbufPeer, case by case):
/// - raw: `allocateRaw`/`freeRaw` (headers untouched) vs
///   rte_mempool_get_bulk/put_bulk of raw objects, mempool_perf_autotest's
///   operations (its own run is an optional cross-check, `--peer-seconds`);
/// - packets: `allocate(into:)` (headers reset) and `PacketBuffer.free` vs
///   rte_pktmbuf_alloc_bulk/rte_pktmbuf_free_bulk.
struct PoolBenchmark {
    let options: CommonOptions
    let peerSeconds: Int
    /// Blocks of 64 rounds per measurement instead of a time budget
    /// (`--iterations`, for instruction counts under callgrind).
    var iterations: Int?

    static let keep = 128
    static let bulkSizes = [1, 8, 32]
    static let cacheSizes = [0, 512]

    enum Path: String, CaseIterable {
        case raw, packets
    }

    static func name(_ path: Path, cache: Int, bulk: Int) -> String {
        "\(path.rawValue), cache \(cache), 1 core, bulk \(bulk), keep \(keep)"
    }

    static var names: [String] {
        Path.allCases.flatMap { path in
            cacheSizes.flatMap { cache in bulkSizes.map { name(path, cache: cache, bulk: $0) } }
        }
    }

    func run() throws -> BenchmarkReport {
        var notes = [String]()
        let selected = Self.names.filter { options.selects($0, among: Self.names) }
        let paths = Path.allCases.filter { path in selected.contains(where: { $0.hasPrefix(path.rawValue) }) }
        let peer: PktmbufPeer? = options.noPeer ? nil : PktmbufPeer.prepare(notes: &notes)
        defer { peer?.remove() }
        let autotest = options.noPeer || !paths.contains(.raw) ? [:] : crossCheckWithAutotest(notes: &notes)

        let cpu = Cores.availableCPUs()[0]
        try Cores.adoptCurrentThread(asCore: 0, pinnedTo: cpu)
        defer { Cores.releaseCurrentThread() }
        let seconds = options.quick ? 0.1 : 0.5
        // Each case: the DPDK peer, then ours, right after it; then the next.
        var pools = [Int: PacketPool]()
        for cache in Self.cacheSizes {
            pools[cache] = try PacketPool(
                name: "bench\(cache)", capacity: 16_383, cacheSize: cache, policy: .hugepagesOrAnonymousFallback,
                iovaMode: .virtual)
        }
        notes.append("pool memory: \(pools[0]!.memory.backing)")
        var ours = [String: [Double]]()
        var peerSamples = [String: [Double]]()
        for _ in 0..<max(1, options.repetitions) {
            for cache in Self.cacheSizes {
                for path in paths {
                    for bulk in Self.bulkSizes where selected.contains(Self.name(path, cache: cache, bulk: bulk)) {
                        if let rate = try peer?.measure(seconds: seconds, cpu: cpu, raw: path == .raw, cache: cache, bulk: bulk) {
                            peerSamples["\(path.rawValue)|\(cache)|\(bulk)", default: []].append(rate)
                        }
                        ours[Self.name(path, cache: cache, bulk: bulk), default: []]
                            .append(measure(pools[cache]!, path: path, bulk: bulk, seconds: seconds))
                    }
                }
            }
        }

        var figures = [Figure]()
        for path in Path.allCases {
            for cache in Self.cacheSizes {
                for bulk in Self.bulkSizes {
                    let name = Self.name(path, cache: cache, bulk: bulk)
                    guard let samples = ours[name] else { continue }
                    let peerRate = peerSamples["\(path.rawValue)|\(cache)|\(bulk)"].map(median)
                    figures.append(Figure(
                        name: name, unit: "M objects/s", better: "higher", ours: median(samples) / 1e6,
                        peer: peerRate.map { $0 / 1e6 },
                        peerName: path == .raw ? "DPDK rte_mempool_get_bulk/put_bulk" : "DPDK rte_pktmbuf_alloc_bulk/free_bulk",
                        mallocsPerOperation: mallocsPerObject(pools[cache]!, path: path, bulk: bulk)))
                }
            }
        }
        if !autotest.isEmpty {
            let rows = autotest.keys.sorted().map { "\($0) \(String(format: "%.2f", autotest[$0]! / 1e6))" }
            notes.append("cross-check, DPDK's own mempool_perf_autotest (one pass) for the raw cases reached, cache|bulk M objects/s: \(rows.joined(separator: ", "))")
        }
        notes.append("raw rows: allocateRaw/freeRaw, headers untouched, vs rte_mempool_get_bulk/put_bulk; packets rows: allocate(into:) resets headers and PacketBuffer.free, vs rte_pktmbuf_alloc_bulk/free_bulk; the peer is Tools/bench/dpdk-pktmbuf-perf.c (RAW=1 for the raw rows), mempool_perf_autotest's loop on the same CPU, each case run right before ours, every repetition")
        return BenchmarkReport(suite: "pool", environment: .current(), figures: figures, notes: notes)
    }

    /// DPDK's own mempool_perf_autotest for `--peer-seconds` (0 skips it): a
    /// cross-check that the harness measures what DPDK's test measures. Its
    /// ~360 cases take 5 s each and the cached ones come after ~15 minutes,
    /// so it is a note, not the peer.
    private func crossCheckWithAutotest(notes: inout [String]) -> [String: Double] {
        guard peerSeconds > 0 else { return [:] }
        guard DPDKTest.isAvailable else {
            notes.append("dpdk-test not installed: no mempool_perf_autotest cross-check")
            return [:]
        }
        do {
            let figures = try measureDPDK()
            let missing = Self.cacheSizes.flatMap { cache in Self.bulkSizes.map { "\(cache)|\($0)" } }
                .filter { figures[$0] == nil }
            if !missing.isEmpty {
                notes.append("mempool_perf_autotest cases not reached within --peer-seconds \(peerSeconds) (cache|bulk): \(missing.joined(separator: ", "))")
            }
            return figures
        } catch {
            notes.append("mempool_perf_autotest cross-check failed: \(error)")
            return [:]
        }
    }

    /// Objects per second.
    func measure(_ pool: PacketPool, path: Path, bulk: Int, seconds: Double) -> Double {
        let table = UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>.allocate(capacity: Self.keep)
        defer { table.deallocate() }
        let clock = TSCClock.shared
        let budget = UInt64(seconds * Double(clock.cyclesPerSecond))
        var objects = 0
        var blocks = 0
        let start = dp_rdtsc()
        while iterations.map({ blocks < $0 }) ?? (dp_rdtsc() - start < budget) {
            blocks += 1
            switch path {
            case .raw: Self.rawRounds(pool, table: table, bulk: bulk)
            case .packets: Self.packetRounds(pool, table: table, bulk: bulk)
            }
            objects += 64 * Self.keep
        }
        let elapsed = Double(dp_rdtsc() - start) / Double(clock.cyclesPerSecond)
        return Double(objects) / elapsed
    }

    /// 64 rounds of getting `keep` raw objects and putting them back.
    @inline(never)
    static func rawRounds(
        _ pool: PacketPool, table: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>, bulk: Int
    ) {
        let base = table.baseAddress!
        for _ in 0..<64 {
            var index = 0
            while index < keep {
                let got = pool.allocateRaw(into: UnsafeMutableBufferPointer(start: base + index, count: bulk))
                precondition(got == bulk, "benchmark pool ran dry")
                index += bulk
            }
            index = 0
            while index < keep {
                pool.freeRaw(UnsafeBufferPointer(start: base + index, count: bulk))
                index += bulk
            }
        }
    }

    /// 64 rounds of allocating `keep` packets and freeing them.
    @inline(never)
    static func packetRounds(
        _ pool: PacketPool, table: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>, bulk: Int
    ) {
        // A PacketBuffer is exactly a header pointer (one stored property).
        let base = UnsafeMutableRawPointer(table.baseAddress!).assumingMemoryBound(to: PacketBuffer.self)
        for _ in 0..<64 {
            var index = 0
            while index < keep {
                let got = pool.allocate(into: UnsafeMutableBufferPointer(start: base + index, count: bulk))
                precondition(got == bulk, "benchmark pool ran dry")
                index += bulk
            }
            index = 0
            while index < keep {
                PacketBuffer.free(UnsafeMutableBufferPointer(start: base + index, count: bulk))
                index += bulk
            }
        }
    }

    private func mallocsPerObject(_ pool: PacketPool, path: Path, bulk: Int) -> Double {
        let table = UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>.allocate(capacity: Self.keep)
        defer { table.deallocate() }
        let rounds = {
            switch path {
            case .raw: Self.rawRounds(pool, table: table, bulk: bulk)
            case .packets: Self.packetRounds(pool, table: table, bulk: bulk)
            }
        }
        rounds()
        let count = countMallocs { for _ in 0..<16 { rounds() } }
        return Double(count) / Double(16 * 64 * Self.keep)
    }

    /// DPDK's rate_persec keyed by "cache|bulk" for 1 core, n_keep 128,
    /// n_get_bulk = n_put_bulk, constant_n 0.
    func measureDPDK() throws -> [String: Double] {
        var figures = [String: Double]()
        let wanted = Self.cacheSizes.count * Self.bulkSizes.count
        try DPDKTest.run(command: "mempool_perf_autotest", seconds: peerSeconds) { line in
            guard line.hasPrefix("mempool_autotest") else { return false }
            var fields = [String: String]()
            for part in line.split(separator: " ") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            guard fields["cores"] == "1", fields["n_keep"] == "\(Self.keep)", fields["constant_n"] == "0",
                let cache = fields["cache"], let get = fields["n_get_bulk"], get == fields["n_put_bulk"],
                let bulk = Int(get), Self.bulkSizes.contains(bulk),
                let rate = fields["rate_persec"].flatMap(Double.init)
            else { return false }
            figures["\(cache)|\(bulk)"] = rate
            return figures.count == wanted
        }
        return figures
    }
}
