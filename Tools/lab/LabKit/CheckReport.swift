/// The result of `dp-lab check` for one NIC kind under one access mode,
/// gathered from dp-probe's "DP-PROBE ADDRESS KIND CHECK pass|fail DETAIL" lines.
public struct CheckRow: Sendable, Equatable {
    public let kind: NICKind
    public let access: LabAccess
    /// Check name to (passed, detail), in the order seen.
    public private(set) var checks: [(name: String, passed: Bool, detail: String)] = []

    public init(kind: NICKind, access: LabAccess) {
        self.kind = kind
        self.access = access
    }

    /// What must be there for the row to pass.
    public var requiredChecks: [String] {
        let common = ["found", "bound", "open", "bar"]
        switch kind {
        case .e1000: return common + ["link", "mac", "busmaster", "dma", "tx", "reopen"]
        case .virtio, .virtioLegacy: return common + ["features", "reset", "busmaster", "dma", "tx", "reopen"]
        }
    }

    public var missingChecks: [String] { requiredChecks.filter { name in !checks.contains { $0.name == name } } }

    public var passed: Bool { missingChecks.isEmpty && checks.allSatisfy(\.passed) }

    mutating func add(_ name: String, passed: Bool, detail: String) {
        checks.append((name, passed, detail))
    }

    /// Short text for the table: the failures, or the key facts.
    public var summary: String {
        if !missingChecks.isEmpty || !checks.allSatisfy(\.passed) {
            let failed = checks.filter { !$0.passed }.map { "\($0.name): \($0.detail)" }
            let missing = missingChecks.isEmpty ? [] : ["missing: " + missingChecks.joined(separator: ",")]
            return (failed + missing).joined(separator: "; ")
        }
        let keys: [String] = kind == .e1000 ? ["link", "mac", "dma", "tx"] : ["features", "reset", "dma", "tx"]
        return keys.compactMap { key in checks.first { $0.name == key }.map { "\(key) \($0.detail)" } }.joined(separator: "; ")
    }

    public static func == (a: CheckRow, b: CheckRow) -> Bool {
        a.kind == b.kind && a.access == b.access && a.checks.elementsEqual(b.checks) {
            $0.name == $1.name && $0.passed == $1.passed && $0.detail == $1.detail
        }
    }
}

public enum CheckReport {
    public static let probeLinePrefix = "DP-PROBE "

    /// Rows for `nics` under `access` from the guest's output lines.
    public static func rows(from lines: [String], nics: [LabNIC], access: LabAccess) -> [CheckRow] {
        var rows = nics.map { CheckRow(kind: $0.kind, access: access) }
        for line in lines where line.hasPrefix(probeLinePrefix) {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 5, let index = nics.firstIndex(where: { $0.guestAddress == fields[1] }) else { continue }
            rows[index].add(fields[3], passed: fields[4] == "pass", detail: fields.count > 5 ? fields[5] : "")
        }
        return rows
    }

    /// The guest command that checks `nics`.
    public static func probeCommand(nics: [LabNIC], access: LabAccess) -> [String] {
        ["dp-probe", "--access", access.rawValue]
            + nics.filter { $0.kind == .e1000 }.flatMap { ["--mac", "\($0.guestAddress)=\($0.mac)"] }
            + nics.map(\.guestAddress)
    }

    /// The table `dp-lab check` prints.
    public static func table(_ rows: [CheckRow]) -> String {
        let nicWidth = max(3, rows.map(\.kind.rawValue.count).max() ?? 0)
        var lines = ["NIC".padded(nicWidth) + "  ACCESS  RESULT  DETAIL"]
        for row in rows {
            lines.append(row.kind.rawValue.padded(nicWidth) + "  " + row.access.rawValue.padded(6) + "  "
                + (row.passed ? "pass" : "FAIL").padded(6) + "  " + row.summary)
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
