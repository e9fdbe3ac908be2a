import NetDevice

/// Per-port figures between two snapshots, and the JSON of a run.
struct PortSnapshot {
    var statistics: PortStatistics
    var seconds: Double
}

enum StatisticsReport {
    static func rate(_ now: UInt64, _ before: UInt64, _ seconds: Double) -> Double {
        seconds > 0 ? Double(now &- before) / seconds : 0
    }

    static func format(_ value: Double) -> String {
        if value >= 1e9 { return fixed(value / 1e9) + "G" }
        if value >= 1e6 { return fixed(value / 1e6) + "M" }
        if value >= 1e3 { return fixed(value / 1e3) + "k" }
        return fixed(value)
    }

    static func fixed(_ value: Double, digits: Int = 2) -> String {
        let scale = Double([1, 10, 100, 1000][min(digits, 3)])
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if text.hasSuffix(".0") && digits == 0 { text.removeLast(2) }
        return text
    }

    /// Lines for one port since `before`.
    static func portLines(index: Int, label: String, now: PortSnapshot, before: PortSnapshot) -> [String] {
        let seconds = now.seconds - before.seconds
        let n = now.statistics, b = before.statistics
        return [
            "port \(index) \(label):",
            "  rx \(n.receivedPackets) pkts \(n.receivedBytes) bytes | \(format(rate(n.receivedPackets, b.receivedPackets, seconds))) pps "
                + "\(format(8 * rate(n.receivedBytes, b.receivedBytes, seconds))) bps | missed \(n.receiveMissed) errors \(n.receiveErrors) no-buffer \(n.receiveNoBuffer)",
            "  tx \(n.transmittedPackets) pkts \(n.transmittedBytes) bytes | \(format(rate(n.transmittedPackets, b.transmittedPackets, seconds))) pps "
                + "\(format(8 * rate(n.transmittedBytes, b.transmittedBytes, seconds))) bps | errors \(n.transmitErrors)",
        ]
    }

    static func queueLine(port: Int, queue: Int = 0, stream: StreamCounter, before: StreamCounter, seconds: Double) -> String {
        "  queue \(queue) (core stream of port \(port)): rx \(stream.receivedPackets) (\(format(rate(stream.receivedPackets, before.receivedPackets, seconds))) pps) "
            + "tx \(stream.transmittedPackets) (\(format(rate(stream.transmittedPackets, before.transmittedPackets, seconds))) pps) "
            + "tx-dropped \(stream.transmitDropped) bursts \(stream.bursts) empty \(stream.emptyBursts)"
    }
}

/// A minimal JSON writer (the tool runs in the guest without Foundation).
enum JSON {
    indirect enum Value {
        case number(Double)
        case integer(UInt64)
        case string(String)
        case bool(Bool)
        case array([Value])
        case object([(String, Value)])
    }

    static func render(_ value: Value, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .number(let n): return n.isFinite ? String(n) : "null"
        case .integer(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return quote(s)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + render($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.map { inner + quote($0.0) + ": " + render($0.1, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
