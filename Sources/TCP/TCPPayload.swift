/// The payload of one received segment, as TCP reads it: one region of
/// bytes, or several (a segment that arrived as a packet chain, or the
/// in-order segments of one flow that the stack coalesced: receive GRO,
/// Docs/TCP.md). Read only during the call that gets it: TCP copies it
/// once, into the receive ring, whatever its shape.
///
/// A value of a few words; trimming (`dropFirst`, `prefix`) moves offsets,
/// never bytes, and nothing here allocates.
public struct TCPPayload {
    /// The first region (the whole payload when `others` is empty).
    let first: UnsafeRawBufferPointer
    /// The regions after the first, in order (owned by the caller).
    let others: UnsafeBufferPointer<UnsafeRawBufferPointer>
    /// Bytes trimmed off the front of the regions.
    var skip: Int
    /// Bytes in the payload (after trimming).
    public private(set) var count: Int
    /// Segments on the wire this payload carried: more than 1 after
    /// coalescing (TCP owes a duplicate ACK per out-of-order segment).
    public let segmentCount: Int

    /// A contiguous payload (one segment).
    public init(_ bytes: UnsafeRawBufferPointer) {
        first = bytes
        others = UnsafeBufferPointer(start: nil, count: 0)
        skip = 0
        count = bytes.count
        segmentCount = 1
    }

    /// A payload in `first` then each of `others`, carried by
    /// `segmentCount` segments on the wire.
    public init(first: UnsafeRawBufferPointer, others: UnsafeBufferPointer<UnsafeRawBufferPointer>, segmentCount: Int) {
        self.first = first
        self.others = others
        skip = 0
        var total = first.count
        for region in others { total += region.count }
        count = total
        self.segmentCount = max(segmentCount, 1)
    }

    /// The payload without its first `n` bytes (already received data).
    public func dropFirst(_ n: Int) -> TCPPayload {
        var trimmed = self
        let removed = min(max(n, 0), count)
        trimmed.skip += removed
        trimmed.count -= removed
        return trimmed
    }

    /// The first `n` bytes of the payload (what fits the window).
    public func prefix(_ n: Int) -> TCPPayload {
        var trimmed = self
        trimmed.count = min(max(n, 0), count)
        return trimmed
    }

    /// The payload when it lies in one region (trimmed), else nil.
    public var contiguousRegion: UnsafeRawBufferPointer? {
        guard others.isEmpty || skip + count <= first.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: first[skip..<(skip + count)])
    }

    /// Calls `body` with each region of the payload in order, trimmed.
    public func forEachRegion(_ body: (UnsafeRawBufferPointer) -> Void) {
        var toSkip = skip
        var left = count
        var index = -1
        while left > 0 && index < others.count {
            let region = index < 0 ? first : others[index]
            index += 1
            if toSkip >= region.count {
                toSkip -= region.count
                continue
            }
            let n = min(region.count - toSkip, left)
            body(UnsafeRawBufferPointer(rebasing: region[toSkip..<(toSkip + n)]))
            toSkip = 0
            left -= n
        }
    }

    /// Copies the payload into `destination` (count bytes).
    public func copyBytes(to destination: UnsafeMutableRawPointer) {
        var at = 0
        forEachRegion { region in
            (destination + at).copyMemory(from: region.baseAddress!, byteCount: region.count)
            at += region.count
        }
    }
}

extension TCPByteRing {
    /// Writes `payload` at `offset` after the head without committing it
    /// (as `write(at:from:)` for one region): the part beyond the capacity
    /// (or the core's budget) is not written. Returns the bytes written.
    /// A coalesced payload (one region per wire segment) takes its chunks
    /// once and is copied in one walk along them, not region by region.
    @discardableResult
    public mutating func write(at offset: Int, from payload: TCPPayload) -> Int {
        if let region = payload.contiguousRegion { return write(at: offset, from: region) }
        guard offset >= 0, offset < capacity, payload.count > 0 else { return 0 }
        let begin = consumed + offset
        let held = reserve(through: begin + min(payload.count, capacity - offset))
        let length = max(min(payload.count, capacity - offset, held - begin), 0)
        guard length > 0, var chunk = locate(begin) else { return 0 }
        var position = begin
        var left = length
        payload.forEachRegion { region in
            var source = region.baseAddress!
            var n = min(region.count, left)
            left -= n
            while n > 0 {
                if position >= chunk.pointee.end {
                    // reserve(through:) took chunks through begin + length.
                    guard let next = chunk.pointee.next else { return }
                    chunk = next
                    continue
                }
                let inChunk = position - chunk.pointee.start
                let piece = min(n, chunk.pointee.capacity - inChunk)
                (chunk.pointee.base + inChunk).copyMemory(from: source, byteCount: piece)
                position += piece
                source += piece
                n -= piece
            }
        }
        // Lookups start at the hint: the next segment continues in this chunk.
        head?.pointee.hint = chunk
        writtenEnd = max(writtenEnd, begin + length)
        return length
    }
}
