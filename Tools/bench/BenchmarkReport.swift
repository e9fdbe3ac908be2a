import Foundation
import Platform

/// One figure: ours beside the peer's, measured in the same run.
struct Figure: Codable {
    var name: String
    var unit: String
    /// "lower" or "higher": which direction is better for this unit.
    var better: String
    var ours: Double
    var peer: Double?
    /// ours / peer (nil without a peer figure).
    var ratio: Double?
    var peerName: String?
    /// Heap allocations per operation in our measured loop.
    var mallocsPerOperation: Double?
    var note: String?

    init(name: String, unit: String, better: String, ours: Double, peer: Double?, peerName: String?,
         mallocsPerOperation: Double? = nil, note: String? = nil) {
        self.name = name
        self.unit = unit
        self.better = better
        self.ours = ours
        self.peer = peer
        self.ratio = peer.flatMap { $0 > 0 ? ours / $0 : nil }
        self.peerName = peerName
        self.mallocsPerOperation = mallocsPerOperation
        self.note = note
    }
}

/// Where the figures were taken.
struct BenchmarkEnvironment: Codable {
    var host: String
    var cpus: Int
    var cpuModel: String
    var tscHz: UInt64
    var kernel: String
    var date: String

    static func current() -> BenchmarkEnvironment {
        let model = (SystemFiles.read("/proc/cpuinfo") ?? "").split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return BenchmarkEnvironment(
            host: ProcessInfo.processInfo.hostName, cpus: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model,
            tscHz: TSCClock.shared.cyclesPerSecond,
            kernel: SystemFiles.readLine("/proc/sys/kernel/osrelease") ?? "unknown",
            date: ISO8601DateFormatter().string(from: Date()))
    }
}

/// A suite's results: printed as a table, written as JSON (schema in
/// Docs/BENCHMARKS.md), plotted when matplotlib is there.
struct BenchmarkReport: Codable {
    var suite: String
    var environment: BenchmarkEnvironment
    var figures: [Figure]
    var notes: [String]

    func finish(options: CommonOptions) throws {
        print(table())
        try FileManager.default.createDirectory(atPath: options.results, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = options.results + "/\(suite).json"
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
        print("wrote \(path)")
        plot(json: path, png: options.results + "/\(suite).png")
    }

    func table() -> String {
        let headers = ["figure", "unit", "ours", "peer", "ours/peer", "mallocs/op"]
        var rows = figures.map { figure -> [String] in
            [figure.name, "\(figure.unit) (\(figure.better) is better)", format(figure.ours),
             figure.peer.map(format) ?? "-", figure.ratio.map { String(format: "%.2f", $0) } ?? "-",
             figure.mallocsPerOperation.map { String(format: "%.3g", $0) } ?? "-"]
        }
        rows.insert(headers, at: 0)
        let widths = headers.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, text in
                column == 0 || column == 1
                    ? text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - text.count) + text
            }.joined(separator: "  ")
        }
        lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
        lines.insert("\(suite): ours vs \(figures.compactMap(\.peerName).first ?? "no peer") (\(environment.cpus) CPUs, \(environment.cpuModel))", at: 0)
        return (lines + notes.map { "note: " + $0 }).joined(separator: "\n")
    }

    private func format(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    /// Draws ours/peer ratios as bars with 1.0 marked (Tools/bench/plot.py).
    private func plot(json: String, png: String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("plot.py").path
        guard FileManager.default.fileExists(atPath: script) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, json, png]
        do {
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus == 0 { print("wrote \(png)") }
        } catch {
            print("no plot: \(error)")
        }
    }
}

/// The median of repeated measurements.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
