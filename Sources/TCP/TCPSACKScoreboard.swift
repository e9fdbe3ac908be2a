import Wire

/// The sender's record of what the peer has selectively acknowledged above
/// SND.UNA (RFC 6675 section 3): sorted, merged, bounded ranges. From it the
/// connection derives which holes count as lost (IsLost), the next hole to
/// retransmit (NextSeg rule 1) and the data still in the network (SetPipe).
struct TCPSACKScoreboard {
    struct Range {
        var start: TCPSequenceNumber
        var end: TCPSequenceNumber
    }

    /// RFC 6675's DupThresh.
    static let duplicateThreshold = 3

    let capacity: Int
    private(set) var ranges: [Range] = []

    /// Room for the ranges is taken at the first SACK block (once per
    /// connection), not at open: an idle connection carries none.
    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    var isEmpty: Bool { ranges.isEmpty }
    var highestSacked: TCPSequenceNumber? { ranges.last?.end }
    var sackedBytes: Int { ranges.reduce(0) { $0 + ($1.end - $1.start) } }

    mutating func removeAll() { ranges.removeAll(keepingCapacity: true) }

    /// Adds the blocks of one ACK, ignoring those outside (una, highData].
    /// Returns true when any new byte became SACKed.
    @discardableResult
    mutating func update(with blocks: TCPSACKBlocks, una: TCPSequenceNumber, highData: TCPSequenceNumber) -> Bool {
        let before = sackedBytes
        if ranges.capacity == 0 && !blocks.isEmpty { ranges.reserveCapacity(capacity + 1) }
        for block in blocks {
            var start = TCPSequenceNumber(block.left)
            let end = TCPSequenceNumber(block.right)
            guard start < end, una < end, !(highData < end) else { continue }  // D-SACK or bogus
            start = TCPSequenceNumber.latest(start, una)
            insert(Range(start: start, end: end))
        }
        return sackedBytes > before
    }

    private mutating func insert(_ new: Range) {
        var merged = new
        var index = 0
        while index < ranges.count {
            let range = ranges[index]
            if !(range.end < merged.start) && !(merged.end < range.start) {
                merged.start = TCPSequenceNumber.earliest(merged.start, range.start)
                merged.end = TCPSequenceNumber.latest(merged.end, range.end)
                ranges.remove(at: index)
            } else {
                index += 1
            }
        }
        let position = ranges.firstIndex { merged.start < $0.start } ?? ranges.count
        ranges.insert(merged, at: position)
        // Over the bound: forget the highest range; being conservative only
        // costs a spurious retransmission, never correctness.
        if ranges.count > capacity { ranges.removeLast() }
    }

    /// Forgets everything below the new SND.UNA.
    mutating func advance(to una: TCPSequenceNumber) {
        while let first = ranges.first, !(una < first.end) { ranges.removeFirst() }
        if let first = ranges.first, first.start < una { ranges[0].start = una }
    }

    func isSacked(_ sequence: TCPSequenceNumber) -> Bool {
        ranges.contains { sequence.isIn($0.start, upTo: $0.end) }
    }

    /// The sequence number below which every un-SACKed byte counts as lost:
    /// IsLost(seq) holds when DupThresh SACKed ranges lie above seq or more
    /// than (DupThresh - 1) * SMSS SACKed bytes do. Nil when nothing is lost.
    /// `threshold` is DupThresh (3, more once the path proved to reorder).
    func lossBoundary(mss: Int, threshold: Int = duplicateThreshold) -> TCPSequenceNumber? {
        var bytesAbove = 0
        var rangesAbove = 0
        for range in ranges.reversed() {
            rangesAbove += 1
            let length = range.end - range.start
            let needed = (threshold - 1) * mss + 1 - bytesAbove
            if rangesAbove >= threshold { return range.start }
            if length >= needed { return range.end - needed }
            bytesAbove += length
        }
        return nil
    }

    /// Un-SACKed bytes in [from, to).
    func unsackedBytes(from: TCPSequenceNumber, to: TCPSequenceNumber) -> Int {
        guard from < to else { return 0 }
        var total = to - from
        for range in ranges {
            let start = TCPSequenceNumber.latest(range.start, from)
            let end = TCPSequenceNumber.earliest(range.end, to)
            if start < end { total -= end - start }
        }
        return total
    }

    /// The first un-SACKed hole at or after `from` and below `limit`,
    /// at most `maxLength` long (NextSeg rule 1).
    func nextHole(from: TCPSequenceNumber, limit: TCPSequenceNumber, maxLength: Int) -> (start: TCPSequenceNumber, length: Int)? {
        var cursor = from
        for range in ranges {
            if !(cursor < limit) { return nil }
            if cursor < range.start {
                let end = TCPSequenceNumber.earliest(TCPSequenceNumber.earliest(range.start, limit), cursor + maxLength)
                return (cursor, end - cursor)
            }
            cursor = TCPSequenceNumber.latest(cursor, range.end)
        }
        guard cursor < limit else { return nil }
        let end = TCPSequenceNumber.earliest(limit, cursor + maxLength)
        return (cursor, end - cursor)
    }
}
