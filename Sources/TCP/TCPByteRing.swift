/// A fixed-capacity byte ring: the send or receive buffer of one connection.
/// Allocated once when the connection is made and never grown, so memory per
/// connection is bounded by the two buffer sizes and nothing is allocated per
/// segment. `count` bytes are readable starting at the head; bytes beyond
/// `count` can be written at an offset first and committed later, which is
/// how out-of-order data waits in the receive buffer without a second copy.
///
/// Owned by exactly one connection, which calls `deallocate()` when it ends.
public struct TCPByteRing {
    @usableFromInline let storage: UnsafeMutableRawPointer
    public let capacity: Int
    @usableFromInline var head: Int = 0
    public private(set) var count: Int = 0

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 64)
    }

    public func deallocate() { storage.deallocate() }

    @inlinable public var freeSpace: Int { capacity - count }
    @inlinable public var isEmpty: Bool { count == 0 }

    /// The readable bytes at [offset, offset + length) as up to two regions
    /// (two when they wrap around the end of the storage).
    public func regions(offset: Int, length: Int) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        precondition(offset >= 0 && length >= 0 && offset + length <= capacity, "ring range out of bounds")
        let start = (head + offset) % capacity
        let first = min(length, capacity - start)
        let a = UnsafeRawBufferPointer(start: storage + start, count: first)
        let b = UnsafeRawBufferPointer(start: storage, count: length - first)
        return (a, b)
    }

    /// Copies `length` bytes starting `offset` bytes after the head to `destination`.
    public func copy(offset: Int, length: Int, to destination: UnsafeMutableRawPointer) {
        let (a, b) = regions(offset: offset, length: length)
        if a.count > 0 { destination.copyMemory(from: a.baseAddress!, byteCount: a.count) }
        if b.count > 0 { (destination + a.count).copyMemory(from: b.baseAddress!, byteCount: b.count) }
    }

    /// Writes bytes at `offset` after the head without committing them; the
    /// part beyond the capacity is not written. Returns the bytes written.
    @discardableResult
    public mutating func write(at offset: Int, from source: UnsafeRawBufferPointer) -> Int {
        guard offset >= 0, offset < capacity, let base = source.baseAddress else { return 0 }
        let length = min(source.count, capacity - offset)
        let start = (head + offset) % capacity
        let first = min(length, capacity - start)
        (storage + start).copyMemory(from: base, byteCount: first)
        if length > first { storage.copyMemory(from: base + first, byteCount: length - first) }
        return length
    }

    /// Makes `length` more bytes (already written past the end) readable.
    public mutating func commit(_ length: Int) {
        precondition(length >= 0 && count + length <= capacity, "commit beyond capacity")
        count += length
    }

    /// Appends as much of `source` as fits; returns the bytes taken.
    @discardableResult
    public mutating func append(_ source: UnsafeRawBufferPointer) -> Int {
        let written = write(at: count, from: UnsafeRawBufferPointer(rebasing: source.prefix(freeSpace)))
        count += written
        return written
    }

    /// Removes up to `length` bytes from the head.
    public mutating func removeFirst(_ length: Int) {
        let removed = min(max(length, 0), count)
        head = (head + removed) % capacity
        count -= removed
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
