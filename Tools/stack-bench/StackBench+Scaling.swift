import ArgumentParser
import Foundation

extension StackBench {
    /// The scaling mode: aggregate echo rate on N cores over 1 core.
    func runScaling(cores: Int) throws {
        guard cores >= 2, cores <= 64 else { throw ValidationError("--scaling-cores takes 2...64") }
        guard rounds >= 1 else { throw ValidationError("--rounds takes 1 or more") }
        let scaling: CoreScaling
        let what: String
        let unit: String
        if let tcpWrite {
            guard tcpWrite > 0 && tcpWrite <= 65_536 else { throw ValidationError("--tcp-write takes 1...65536 bytes") }
            let bytes = Int(megabytes * 1_048_576)
            what = "TCP request/response through sockets, \(tcpWrite)-byte writes"
            unit = "segments/s"
            scaling = CoreScaling(cores: cores, rounds: rounds) { startLine in
                var echo = TCPSocketEcho(writeSize: tcpWrite, warmupBytes: bytes / 4, measuredBytes: bytes)
                echo.countsMallocs = false
                echo.beforeMeasuring = startLine
                let result = try echo.run()
                return Double(result.segments) / result.seconds
            }
        } else {
            what = "UDP echo, \(size)-byte payloads, burst \(burst)"
            unit = "round trips/s"
            let (size, burst, packets, warmup) = (size, burst, packets, warmup)
            scaling = CoreScaling(cores: cores, rounds: rounds) { startLine in
                var echo = UDPStackEcho(payloadSize: size, burst: burst, warmupPackets: warmup, measuredPackets: packets)
                echo.countsMallocs = false
                echo.beforeMeasuring = startLine
                let result = try echo.run()
                return Double(result.echoed) / result.seconds
            }
        }
        let results = try scaling.run()
        // The machine's own scaling, same run: a loop that shares nothing at
        // all (no memory, no cache lines), on 1 core and on N at once.
        let machine = try CoreScaling(cores: cores, rounds: rounds) { startLine in
            startLine()
            return CoreScaling.spinRate()
        }.run()
        report(results, machine: machine, cores: cores, what: what, unit: unit)
    }

    private func report(_ results: [CoreScaling.Round], machine: [CoreScaling.Round], cores: Int, what: String, unit: String) {
        let ratios = results.map(\.ratio).sorted()
        let median = ratios[ratios.count / 2]
        let machineMedian = machine.map(\.ratio).sorted()[machine.count / 2]
        print("dp-stack-bench: share-nothing scaling, \(what), 1 core vs \(cores) cores (alternating rounds)")
        print("  round   1 core (\(unit))   \(cores) cores (\(unit))   ratio   per core")
        for (index, round) in results.enumerated() {
            let perCore = round.perCore.map { String(format: "%.0f", $0) }.joined(separator: " / ")
            print(String(format: "  %5d   %18.0f   %19.0f   %5.2f   ", index + 1, round.oneCore, round.nCores, round.ratio) + perCore)
        }
        print(String(format: "  median ratio %.2f (%d rounds); the machine's own scaling (a loop sharing nothing): %.2f, so the stack keeps %.0f%% of it",
                     median, results.count, machineMedian, 100 * (median - 1) / max(machineMedian - 1, 0.01)))
        guard let jsonPath else { return }
        // Docs/BENCHMARKS.md's schema: "peer" is the same echo on one core.
        let middle = results.sorted { $0.ratio < $1.ratio }[results.count / 2]
        let document: [String: Any] = [
            "suite": "scaling",
            "environment": ["date": ISO8601DateFormatter().string(from: Date()), "cores": cores],
            "figures": [[
                "name": "\(what): \(cores) cores / 1 core", "unit": unit, "better": "higher",
                "ours": middle.nCores, "peer": middle.oneCore, "ratio": median, "peerName": "same echo, 1 core",
                "goal": 0.9 * Double(cores), "machineRatio": machineMedian,
                "rounds": results.map { ["oneCore": $0.oneCore, "nCores": $0.nCores, "ratio": $0.ratio, "perCore": $0.perCore] },
            ]],
            "notes": ["machineRatio: a loop sharing nothing (no memory traffic) on \(cores) cores over 1 core in the same run: "
                      + "what this machine's CPUs give at best; the goal of 0.9 per core assumes cores that scale"],
        ]
        if let data = try? JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys]) {
            try? data.write(to: URL(fileURLWithPath: jsonPath))
        }
    }
}
