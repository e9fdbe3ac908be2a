import Wire

/// The out-of-order ranges of one connection's receive side: which sequence
/// ranges beyond RCV.NXT are already written into the receive ring. The bytes
/// themselves live in the ring; this only remembers where they are. Bounded
/// to `capacity` separate ranges: a segment that would need one more is
/// dropped (and counted), so a peer cannot make us track unbounded holes.
/// Also the source of the SACK blocks we send (RFC 2018 section 4).
struct TCPReassemblyQueue {
    struct Range {
        var start: TCPSequenceNumber
        var end: TCPSequenceNumber
        /// Larger is more recently updated: the first SACK block must report
        /// the range holding the latest segment (RFC 2018).
        var stamp: UInt32
    }

    let capacity: Int
    private(set) var ranges: [Range] = []
    private var clock: UInt32 = 0

    /// The room for every range is taken at the first out-of-order segment
    /// (once per connection, never per segment), not at open: an idle
    /// connection carries none.
    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    var isEmpty: Bool { ranges.isEmpty }

    /// Records [start, end); false when it does not fit the range limit
    /// (the caller then must not keep the bytes).
    mutating func insert(start: TCPSequenceNumber, end: TCPSequenceNumber) -> Bool {
        guard start < end else { return true }
        if ranges.capacity == 0 { ranges.reserveCapacity(capacity + 1) }
        clock &+= 1
        var newStart = start
        var newEnd = end
        // Merge with every range that overlaps or touches [start, end).
        var index = 0
        var firstMerged: Int? = nil
        while index < ranges.count {
            let range = ranges[index]
            if !(range.end < newStart) && !(newEnd < range.start) {
                newStart = TCPSequenceNumber.earliest(newStart, range.start)
                newEnd = TCPSequenceNumber.latest(newEnd, range.end)
                if firstMerged == nil {
                    firstMerged = index
                    index += 1
                } else {
                    ranges.remove(at: index)
                }
            } else {
                index += 1
            }
        }
        if let merged = firstMerged {
            ranges[merged] = Range(start: newStart, end: newEnd, stamp: clock)
            ranges.sort { $0.start < $1.start }
            return true
        }
        guard ranges.count < capacity else { return false }
        let position = ranges.firstIndex { newStart < $0.start } ?? ranges.count
        ranges.insert(Range(start: newStart, end: newEnd, stamp: clock), at: position)
        return true
    }

    /// When a range starts at or below `next` (RCV.NXT), removes it and returns
    /// the end of the contiguous data; nil when the hole at `next` remains.
    mutating func takeContiguous(from next: TCPSequenceNumber) -> TCPSequenceNumber? {
        var reached = next
        var advanced = false
        while let first = ranges.first, !(reached < first.start) {
            reached = TCPSequenceNumber.latest(reached, first.end)
            ranges.removeFirst()
            advanced = true
        }
        return advanced ? reached : nil
    }

    /// Drops every range (when the connection ends or reneges).
    mutating func removeAll() { ranges.removeAll(keepingCapacity: true) }

    /// Bytes held out of order.
    var bytes: Int { ranges.reduce(0) { $0 + ($1.end - $1.start) } }

    /// Up to `limit` SACK blocks, the most recently updated first.
    func sackBlocks(limit: Int) -> TCPSACKBlocks {
        var blocks = TCPSACKBlocks()
        guard limit > 0, !ranges.isEmpty else { return blocks }
        // Few ranges (bounded by capacity): a selection by stamp is cheap and
        // allocation-free.
        var lastStamp = UInt32.max
        for _ in 0..<min(limit, ranges.count) {
            var best: Range? = nil
            for range in ranges where range.stamp < lastStamp {
                if best == nil || range.stamp > best!.stamp { best = range }
            }
            guard let chosen = best else { break }
            blocks.append(TCPSACKBlock(left: chosen.start.rawValue, right: chosen.end.rawValue))
            lastStamp = chosen.stamp
        }
        return blocks
    }
}
