import Foundation

/// The peer of the pool's rows: dpdk-pktmbuf-perf.c (next to this file),
/// built with the system's cc and libdpdk's pkg-config flags on first use,
/// run on the CPU ours runs on. Packet rows use rte_pktmbuf_alloc_bulk/
/// free_bulk, raw rows (`raw: true`, its RAW=1) rte_mempool_get_bulk/
/// put_bulk: the loop of DPDK's mempool_perf_autotest, one case per run,
/// right before ours, instead of one pass of DPDK's 360 cases.
struct PktmbufPeer {
    let executable: String

    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("dpdk-pktmbuf-perf.c").path

    /// Builds the peer; nil (and a note saying why) when it cannot be built.
    static func prepare(notes: inout [String]) -> PktmbufPeer? {
        guard FileManager.default.fileExists(atPath: source) else {
            notes.append("no peer figures: \(source) not found (dp-bench runs from its checkout)")
            return nil
        }
        let executable = NSTemporaryDirectory() + "dp-bench-pktmbuf-perf-\(ProcessInfo.processInfo.processIdentifier)"
        // -march=corei7 -O3 as Debian builds DPDK itself (pkg-config adds the -march).
        let command = "cc -O3 -o '\(executable)' '\(source)' $(pkg-config --cflags --libs libdpdk)"
        let (status, output) = shell(command)
        guard status == 0 else {
            notes.append("no peer figures: building \(source) failed (needs cc and libdpdk-dev): \(output.prefix(300))")
            return nil
        }
        return PktmbufPeer(executable: executable)
    }

    /// Objects per second of one case (nil when the peer printed none).
    /// One case per run, so that each of ours is measured right beside its
    /// peer: on this shared machine the CPU's speed drifts over seconds.
    func measure(seconds: Double, cpu: Int, raw: Bool, cache: Int, bulk: Int) throws -> Double? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        var environment = ProcessInfo.processInfo.environment
        environment["RAW"] = raw ? "1" : "0"
        environment["CACHE"] = String(cache)
        environment["BULK"] = String(bulk)
        process.environment = environment
        process.arguments = [String(seconds), "--no-huge", "-m", "512", "--no-pci", "-l", String(cpu),
                             "--log-level", "lib.eal:error",
                             "--file-prefix=dpbenchmbuf\(ProcessInfo.processInfo.processIdentifier)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(raw ? "mempool " : "pktmbuf ") {
            var fields = [String: String]()
            for part in line.split(separator: " ") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            if fields["cache"] == String(cache), fields["n_bulk"] == String(bulk),
               let rate = fields["rate_persec"].flatMap(Double.init) {
                return rate
            }
        }
        return nil
    }

    func remove() { try? FileManager.default.removeItem(atPath: executable) }

    private static func shell(_ command: String) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " 2>&1"]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
