import Foundation

/// --watch: samples ports and cores every interval and prints the counters
/// with their rates per second since the previous sample.
struct StatWatch {
    let connection: StatConnection
    let interval: Double
    let samples: Int?
    let json: Bool

    /// Counters flattened to "port0.receivedPackets", "counter.frames.received" (summed over cores).
    static func flatten(portStats: [[String: Any]], cores: [[String: Any]]) -> [String: Double] {
        var values: [String: Double] = [:]
        for (index, stat) in portStats.enumerated() {
            for (key, value) in stat["basic"] as? [String: Any] ?? [:] {
                values["port\(index).\(key)"] = (value as? NSNumber)?.doubleValue
            }
        }
        for core in cores {
            for (key, value) in core["counters"] as? [String: Any] ?? [:] {
                values["counter.\(key)", default: 0] += (value as? NSNumber)?.doubleValue ?? 0
            }
        }
        return values
    }

    func run() throws {
        var previous: (values: [String: Double], at: Double)?
        var taken = 0
        while samples.map({ taken < $0 }) ?? true {
            if taken > 0 { Thread.sleep(forTimeInterval: interval) }
            let ports = try connection.ask("/ports") as? [[String: Any]] ?? []
            let portStats = try ports.indices.map { try connection.ask("/ports/\($0)/stats") as? [String: Any] ?? [:] }
            let cores = try connection.ask("/cores") as? [[String: Any]] ?? []
            let now = Date().timeIntervalSince1970
            let values = Self.flatten(portStats: portStats, cores: cores)
            var rates: [String: Double] = [:]
            if let previous {
                let elapsed = max(now - previous.at, 1e-3)
                for (key, value) in values { rates[key] = max(value - (previous.values[key] ?? 0), 0) / elapsed }
            }
            // Unbuffered: a reader of a pipe sees each sample at once.
            let text = (json ? jsonLine(now, values, rates) : tables(now, ports, portStats, cores, previous == nil ? nil : rates)) + "\n"
            FileHandle.standardOutput.write(Data(text.utf8))
            previous = (values, now)
            taken += 1
        }
    }

    func jsonLine(_ now: Double, _ values: [String: Double], _ rates: [String: Double]) -> String {
        let object: [String: Any] = ["time": now, "values": values, "ratesPerSecond": rates]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    func tables(_ now: Double, _ ports: [[String: Any]], _ stats: [[String: Any]], _ cores: [[String: Any]], _ rates: [String: Double]?) -> String {
        let stamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now))
        return "--- \(stamp)" + (rates == nil ? " (rates from the next sample)" : "") + "\n"
            + StatTables.ports(ports, stats, rates: rates) + "\n" + StatTables.counters(cores, rates: rates ?? [:])
    }
}
