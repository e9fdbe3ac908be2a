/// Connections in TIME-WAIT, kept as a few words each instead of a whole
/// connection with its buffers: enough to re-acknowledge a retransmitted FIN,
/// to refuse old duplicates, and to decide (RFC 6191) whether a new SYN for
/// the same 4-tuple may reuse it early. Entries all last 2 * MSL, so a FIFO
/// ordered by insertion is ordered by expiry. Bounded: beyond the limit the
/// oldest entry goes first.
struct TCPTimeWaitTable {
    struct Entry {
        var tuple: TCPFourTuple
        var sendNext: TCPSequenceNumber
        var receiveNext: TCPSequenceNumber
        var timestampsEnabled: Bool
        var timestampRecent: UInt32
        var timestampOffset: UInt32
        var window: UInt16
        var expires: TCPInstant
    }

    let capacity: Int
    private var entries: [TCPFourTuple: Entry] = [:]
    /// Positions (absolute: `base` + index) of each entry's latest FIFO slot.
    private var positions: [TCPFourTuple: Int] = [:]
    private var order: [TCPFourTuple] = []
    private var head = 0
    private var base = 0
    private(set) var evictedEarly = 0

    init(capacity: Int) { self.capacity = max(capacity, 1) }

    var count: Int { entries.count }
    var tuples: [TCPFourTuple] { Array(entries.keys) }

    subscript(tuple: TCPFourTuple) -> Entry? { entries[tuple] }

    mutating func insert(_ entry: Entry) {
        entries[entry.tuple] = entry
        push(entry.tuple)
        while entries.count > capacity, let oldest = popFront() {
            entries.removeValue(forKey: oldest)
            positions.removeValue(forKey: oldest)
            evictedEarly += 1
        }
        compact()
    }

    mutating func remove(_ tuple: TCPFourTuple) {
        entries.removeValue(forKey: tuple)
        positions.removeValue(forKey: tuple)
    }

    mutating func restart(_ tuple: TCPFourTuple, expires: TCPInstant) {
        guard entries[tuple] != nil else { return }
        entries[tuple]!.expires = expires
        push(tuple)  // keeps the FIFO ordered by expiry
        compact()
    }

    /// Removes every entry whose time is up.
    mutating func expire(now: TCPInstant) {
        while let tuple = front() {
            guard let entry = entries[tuple], entry.expires <= now else { break }
            _ = popFront()
            entries.removeValue(forKey: tuple)
            positions.removeValue(forKey: tuple)
        }
        compact()
    }

    var nextExpiry: TCPInstant? {
        var copy = self
        return copy.front().flatMap { copy.entries[$0]?.expires }
    }

    private mutating func push(_ tuple: TCPFourTuple) {
        positions[tuple] = base + order.count
        order.append(tuple)
    }

    /// The oldest live FIFO slot, skipping slots made stale by restart/remove.
    private mutating func front() -> TCPFourTuple? {
        while head < order.count {
            let tuple = order[head]
            if positions[tuple] == base + head { return tuple }
            head += 1
        }
        return nil
    }

    private mutating func popFront() -> TCPFourTuple? {
        guard let tuple = front() else { return nil }
        head += 1
        return tuple
    }

    private mutating func compact() {
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            base += head
            head = 0
        }
    }
}
