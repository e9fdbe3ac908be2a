import CPlatform
import Foundation
import Packets
import Platform

/// Packet pool throughput in objects per second (each object got and put
/// once), measured as DPDK's mempool_perf_autotest measures it: keep 128
/// objects, get them in bulks of n, put them back in bulks of n, repeat.
struct PoolBenchmark {
    let options: CommonOptions
    let peerSeconds: Int

    static let keep = 128
    static let bulkSizes = [1, 8, 32]
    static let cacheSizes = [0, 512]

    func run() throws -> BenchmarkReport {
        var notes = [String]()
        var peer = [String: Double]()
        if !options.noPeer {
            if DPDKTest.isAvailable {
                peer = try measureDPDK()
                let missing = Self.cacheSizes.flatMap { cache in Self.bulkSizes.map { "\(cache)|\($0)" } }
                    .filter { peer[$0] == nil }
                if !missing.isEmpty {
                    notes.append("DPDK cases not reached within --peer-seconds \(peerSeconds) (cache|bulk): \(missing.joined(separator: ", ")); its test runs ~360 cases of 5 s, cached ones after ~15 min")
                }
            } else {
                notes.append("dpdk-test not installed: no peer figures")
            }
        }

        let cpu = Cores.availableCPUs()[0]
        try Cores.adoptCurrentThread(asCore: 0, pinnedTo: cpu)
        defer { Cores.releaseCurrentThread() }
        let seconds = options.quick ? 0.1 : 1.0
        var figures = [Figure]()
        for cache in Self.cacheSizes {
            let pool = try PacketPool(
                name: "bench", capacity: 16_383, cacheSize: cache, policy: .hugepagesOrAnonymousFallback,
                iovaMode: .virtual)
            for bulk in Self.bulkSizes {
                var samples = [Double]()
                for _ in 0..<max(1, options.repetitions) {
                    samples.append(measure(pool, bulk: bulk, seconds: seconds))
                }
                let mallocs = mallocsPerObject(pool, bulk: bulk)
                figures.append(Figure(
                    name: "cache \(cache), 1 core, bulk \(bulk), keep \(Self.keep)", unit: "M objects/s",
                    better: "higher", ours: median(samples) / 1e6, peer: peer["\(cache)|\(bulk)"].map { $0 / 1e6 },
                    peerName: "DPDK mempool_perf_autotest", mallocsPerOperation: mallocs))
            }
            if cache == 0 { notes.append("pool memory: \(pool.memory.backing)") }
        }
        notes.append("ours gets packet buffers (headers reset as rte_pktmbuf_alloc_bulk does); DPDK's test gets raw mempool objects")
        return BenchmarkReport(suite: "pool", environment: .current(), figures: figures, notes: notes)
    }

    /// Objects per second.
    func measure(_ pool: PacketPool, bulk: Int, seconds: Double) -> Double {
        let table = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: Self.keep)
        defer { table.deallocate() }
        let clock = TSCClock.shared
        let budget = UInt64(seconds * Double(clock.cyclesPerSecond))
        var objects = 0
        let start = dp_rdtsc()
        while dp_rdtsc() - start < budget {
            for _ in 0..<64 {
                cycle(pool, table: table, bulk: bulk)
                objects += Self.keep
            }
        }
        let elapsed = Double(dp_rdtsc() - start) / Double(clock.cyclesPerSecond)
        return Double(objects) / elapsed
    }

    @inline(__always)
    private func cycle(_ pool: PacketPool, table: UnsafeMutableBufferPointer<PacketBuffer>, bulk: Int) {
        var index = 0
        while index < Self.keep {
            let got = pool.allocate(into: UnsafeMutableBufferPointer(rebasing: table[index..<index + bulk]))
            precondition(got == bulk, "benchmark pool ran dry")
            index += bulk
        }
        index = 0
        while index < Self.keep {
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: table[index..<index + bulk]))
            index += bulk
        }
    }

    private func mallocsPerObject(_ pool: PacketPool, bulk: Int) -> Double {
        let table = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: Self.keep)
        defer { table.deallocate() }
        cycle(pool, table: table, bulk: bulk)
        let rounds = 1000
        let count = countMallocs {
            for _ in 0..<rounds { cycle(pool, table: table, bulk: bulk) }
        }
        return Double(count) / Double(rounds * Self.keep)
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
