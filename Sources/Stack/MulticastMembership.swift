import Wire

/// The multicast groups an interface's sockets have joined (RFC 3810
/// §4: the interface's listening state is the union of its sockets'), each
/// with its number of joins, and the MLD reports still owed: a state
/// change is reported [Robustness Variable] = 2 times (§6.1, §9.1), a
/// query answered once after a delay (§6.2). Bounded by `maximumGroups`.
struct MulticastMembership {
    static let maximumGroups = 32
    static let robustness = 2

    private(set) var groups: [IPv6Address] = []
    private var joins: [Int] = []
    /// State changes to report: the group, joined (TO_EX) or left (TO_IN), reports left to send.
    private(set) var changes: [(group: IPv6Address, joined: Bool, left: Int)] = []
    /// A query asked about every group (general) or these.
    var answerAll = false
    var answerGroups: [IPv6Address] = []
    /// A report timer is pending (one per interface).
    var timerScheduled = false

    @inline(__always)
    func contains(_ group: IPv6Address) -> Bool {
        for g in groups where g == group { return true }
        return false
    }

    /// One more join of `group`; true when it is the interface's first (a
    /// state change to report). False at the bound: nil.
    mutating func join(_ group: IPv6Address) -> Bool? {
        if let i = groups.firstIndex(of: group) {
            joins[i] += 1
            return false
        }
        guard groups.count < Self.maximumGroups else { return nil }
        groups.append(group)
        joins.append(1)
        noteChange(group, joined: true)
        return true
    }

    /// One join fewer; true when the interface left the group.
    mutating func leave(_ group: IPv6Address) -> Bool {
        guard let i = groups.firstIndex(of: group) else { return false }
        joins[i] -= 1
        guard joins[i] == 0 else { return false }
        groups.remove(at: i)
        joins.remove(at: i)
        noteChange(group, joined: false)
        return true
    }

    private mutating func noteChange(_ group: IPv6Address, joined: Bool) {
        changes.removeAll { $0.group == group }
        changes.append((group, joined, Self.robustness))
    }

    /// The state-change records of one report, each counted as sent.
    mutating func takeChangeRecords() -> [(type: MLD.RecordType, group: IPv6Address)] {
        let records = changes.map { (type: $0.joined ? MLD.RecordType.changeToExclude : .changeToInclude, group: $0.group) }
        for i in changes.indices { changes[i].left -= 1 }
        changes.removeAll { $0.left <= 0 }
        return records
    }
}
