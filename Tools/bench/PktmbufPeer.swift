import Foundation

/// The peer of the pool's packet rows: dpdk-pktmbuf-perf.c (next to this
/// file), built with the system's cc and libdpdk's pkg-config flags on
/// first use, run on the CPU ours runs on.
struct PktmbufPeer {
    let executable: String

    static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("dpdk-pktmbuf-perf.c").path

    /// Builds the peer; nil (and a note saying why) when it cannot be built.
    static func prepare(notes: inout [String]) -> PktmbufPeer? {
        guard FileManager.default.fileExists(atPath: source) else {
            notes.append("packet rows without a peer: \(source) not found (dp-bench runs from its checkout)")
            return nil
        }
        let executable = NSTemporaryDirectory() + "dp-bench-pktmbuf-perf-\(ProcessInfo.processInfo.processIdentifier)"
        // -march=corei7 -O3 as Debian builds DPDK itself (pkg-config adds the -march).
        let command = "cc -O3 -o '\(executable)' '\(source)' $(pkg-config --cflags --libs libdpdk)"
        let (status, output) = shell(command)
        guard status == 0 else {
            notes.append("packet rows without a peer: building \(source) failed (needs cc and libdpdk-dev): \(output.prefix(300))")
            return nil
        }
        return PktmbufPeer(executable: executable)
    }

    /// Objects per second keyed by "cache|bulk".
    func measure(seconds: Double, cpu: Int) throws -> [String: Double] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [String(seconds), "--no-huge", "-m", "512", "--no-pci", "-l", String(cpu),
                             "--log-level", "lib.eal:error",
                             "--file-prefix=dpbenchmbuf\(ProcessInfo.processInfo.processIdentifier)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var rates = [String: Double]()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("pktmbuf ") {
            var fields = [String: String]()
            for part in line.split(separator: " ") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            if let cache = fields["cache"], let bulk = fields["n_bulk"], let rate = fields["rate_persec"].flatMap(Double.init) {
                rates["\(cache)|\(bulk)"] = rate
            }
        }
        return rates
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
