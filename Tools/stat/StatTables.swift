import Foundation

/// Plain-text tables: a header row, columns as wide as their widest cell,
/// numbers right-aligned.
struct Table {
    var title: String
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(widths[i] - cell.count, 0))
                return Double(cell.replacingOccurrences(of: ",", with: "")) != nil && i > 0 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = "\(title)\n" + line(header) + "\n"
        if rows.isEmpty { out += "(none)\n" }
        for row in rows { out += line(row) + "\n" }
        return out
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// Formatting of the values the process sends.
enum Cell {
    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let flag as Bool where !(value is Int): return flag ? "yes" : "no"
        case let number as NSNumber: return number.stringValue
        case let string as String: return string
        default: return "\(value!)"
        }
    }

    static func integer(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }

    static func microseconds(_ value: Any?) -> String {
        guard let us = integer(value) else { return "-" }
        return String(format: "%.3f", Double(us) / 1000)
    }

    static func rate(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}
