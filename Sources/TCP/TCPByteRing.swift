/// The send or receive buffer of one connection: a byte queue that holds
/// memory only for what is buffered. `count` bytes are readable starting at
/// the head; bytes beyond `count` can be written at an offset first and
/// committed later, which is how out-of-order data waits in the receive
/// buffer without a second copy. `capacity` (SO_RCVBUF / SO_SNDBUF) bounds
/// the bytes queued; the core's `TCPChunkCache` budget bounds all rings.
///
/// Chunk design. The bytes live in a singly linked list of chunks
/// (`TCPRingChunk`, a header followed by the data, `chunkSize` bytes, 4 KiB
/// by default). Each chunk records the stream position of its first byte
/// (`start`, counted from the ring's creation), so chunks of one ring cover
/// consecutive positions and may differ in size. Chunks come from the core's
/// `TCPChunkCache` (a free list: memory is taken from the system only when
/// it is empty) when a write reaches beyond the last chunk, and go back as
/// soon as the head passes their end; a drained ring (nothing readable,
/// nothing written ahead) holds no chunk at all, so an idle connection costs
/// only this struct. A chunk may reference external memory: `base` points
/// anywhere, `capacity` says how much, and `release(releaseContext)` is
/// called when the ring drops it (for borrowed buffers kept until acked).
/// Lookups start at a hint kept in the head chunk (the chunk the last lookup
/// found), so sequential copies (segments sent in order) do not walk the list.
///
/// Owned by exactly one connection, which calls `deallocate()` when it ends.
public struct TCPByteRing {
    public typealias Chunk = UnsafeMutablePointer<TCPRingChunk>
    public let cache: TCPChunkCache
    /// The most the ring may hold; only grows (`grow(toCapacity:)`).
    public private(set) var capacity: Int
    public internal(set) var count: Int = 0  // also set by appendBorrowed (TCPByteRing+Borrowed.swift)
    @usableFromInline var head: Chunk?
    @usableFromInline var tail: Chunk?
    /// Stream position of the first readable byte (bytes ever removed).
    @usableFromInline var consumed = 0
    /// End of the bytes written so far (committed or ahead), as a position.
    @usableFromInline var writtenEnd = 0
    /// The held chunks' `extraCharge`s: counted against `capacity` beside
    /// `count` (TCPByteRing+Borrowed.swift).
    @usableFromInline var extraCharge = 0

    /// A ring with its own cache (tests and stand-alone connections); a
    /// table's connections share the core's cache.
    public init(capacity: Int, cache: TCPChunkCache = TCPChunkCache()) {
        self.capacity = max(capacity, 1)
        self.cache = cache
    }

    /// Raises `capacity` (buffer auto-tuning); chunks are still taken
    /// only as bytes are written. Never lowers it.
    public mutating func grow(toCapacity newCapacity: Int) {
        capacity = max(capacity, newCapacity)
    }

    /// Returns every chunk to the cache.
    public func deallocate() {
        var chunk = head
        while let current = chunk {
            chunk = current.pointee.next
            cache.give(current)
        }
    }

    /// Bytes that can still be queued: below `capacity` and within the
    /// chunks held plus what the core's budget still allows.
    @inlinable public var freeSpace: Int {
        let held = tail.map { $0.pointee.start + $0.pointee.capacity - (consumed + count) } ?? 0
        return max(min(capacity - count - extraCharge, max(held, 0) + cache.availableBytes), 0)
    }
    @inlinable public var isEmpty: Bool { count == 0 }
    /// Chunks held now (memory charged to this ring).
    public var chunkCount: Int {
        var n = 0
        var chunk = head
        while let c = chunk { n += 1; chunk = c.pointee.next }
        return n
    }

    // MARK: Lookup

    /// The chunk holding stream position `position` (which must be held).
    func locate(_ position: Int) -> Chunk? {
        guard let head else { return nil }
        var chunk = head
        if let hint = head.pointee.hint, hint.pointee.start <= position { chunk = hint }
        while position >= chunk.pointee.end {
            guard let next = chunk.pointee.next else { return nil }
            chunk = next
        }
        head.pointee.hint = chunk
        return chunk
    }

    /// Calls `body` with each contiguous piece of [offset, offset + length)
    /// after the head, in order (the pieces of the chunks that hold it).
    public func forEachRegion(offset: Int, length: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        precondition(offset >= 0 && length >= 0 && offset + length <= capacity, "ring range out of bounds")
        guard length > 0 else { return }
        var position = consumed + offset
        let end = position + length
        var chunk = locate(position)
        while let c = chunk, position < end {
            let inChunk = position - c.pointee.start
            let piece = min(end - position, c.pointee.capacity - inChunk)
            body(UnsafeRawBufferPointer(start: c.pointee.base + inChunk, count: piece))
            position += piece
            chunk = c.pointee.next
        }
    }

    /// The first two contiguous pieces of [offset, offset + length): all of
    /// it when the range lies in at most two chunks (always so for a
    /// segment up to `cache.chunkSize + 1` bytes), else a prefix
    /// (`a.count + b.count < length`); `forEachRegion` gives every piece.
    public func regions(offset: Int, length: Int) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        var pieces = (UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
        var n = 0
        forEachRegion(offset: offset, length: length) { piece in
            if n == 0 { pieces.0 = piece } else if n == 1 { pieces.1 = piece }
            n += 1
        }
        return pieces
    }

    /// Copies `length` bytes starting `offset` bytes after the head to `destination`.
    public func copy(offset: Int, length: Int, to destination: UnsafeMutableRawPointer) {
        var cursor = destination
        forEachRegion(offset: offset, length: length) { piece in
            cursor.copyMemory(from: piece.baseAddress!, byteCount: piece.count)
            cursor += piece.count
        }
    }

    // MARK: Writing

    /// Takes chunks until stream position `end` is held (or the budget
    /// refuses); returns the end of what is held.
    mutating func reserve(through end: Int) -> Int {
        if tail == nil {
            guard let first = cache.take(start: consumed) else { return consumed }
            head = first
            tail = first
        }
        while let last = tail, last.pointee.end < end {
            guard let chunk = cache.take(start: last.pointee.end) else { break }
            last.pointee.next = chunk
            tail = chunk
        }
        return tail!.pointee.end
    }

    /// Writes bytes at `offset` after the head without committing them; the
    /// part beyond the capacity (or the core's budget) is not written.
    /// Returns the bytes written.
    @discardableResult
    public mutating func write(at offset: Int, from source: UnsafeRawBufferPointer) -> Int {
        guard offset >= 0, offset < capacity, let base = source.baseAddress, source.count > 0 else { return 0 }
        let begin = consumed + offset
        let held = reserve(through: begin + min(source.count, capacity - offset))
        let length = max(min(source.count, capacity - offset, held - begin), 0)
        guard length > 0 else { return 0 }
        var position = begin
        var chunk = locate(position)
        while let c = chunk, position < begin + length {
            let inChunk = position - c.pointee.start
            let piece = min(begin + length - position, c.pointee.capacity - inChunk)
            (c.pointee.base + inChunk).copyMemory(from: base + (position - begin), byteCount: piece)
            position += piece
            chunk = c.pointee.next
        }
        writtenEnd = max(writtenEnd, begin + length)
        return length
    }

    /// Makes `length` more bytes (already written past the end) readable.
    public mutating func commit(_ length: Int) {
        precondition(length >= 0 && count + length <= capacity, "commit beyond capacity")
        count += length
        writtenEnd = max(writtenEnd, consumed + count)
    }

    /// Appends as much of `source` as fits; returns the bytes taken.
    @discardableResult
    public mutating func append(_ source: UnsafeRawBufferPointer) -> Int {
        let written = write(at: count, from: UnsafeRawBufferPointer(rebasing: source.prefix(capacity - count)))
        count += written
        return written
    }

    // MARK: Reading

    /// Removes up to `length` bytes from the head, returning chunks the head
    /// has passed (all of them once nothing is left, read or written ahead).
    public mutating func removeFirst(_ length: Int) {
        let removed = min(max(length, 0), count)
        consumed += removed
        count -= removed
        let drained = count == 0 && writtenEnd <= consumed
        while let first = head, drained || first.pointee.end <= consumed {
            let hint = first.pointee.hint
            extraCharge -= first.pointee.extraCharge
            head = first.pointee.next
            if let next = head {
                next.pointee.hint = hint.flatMap { $0.pointee.start >= next.pointee.start ? $0 : nil }
            } else {
                tail = nil
            }
            cache.give(first)
        }
    }

    /// Moves up to `destination.count` bytes out of the ring; returns how many.
    public mutating func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let length = min(destination.count, count)
        guard length > 0, let base = destination.baseAddress else { return 0 }
        copy(offset: 0, length: length, to: base)
        removeFirst(length)
        return length
    }
}
