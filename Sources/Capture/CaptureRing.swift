import Atomics

/// A single-producer, single-consumer byte ring between one core (which
/// appends finished pcapng blocks) and the capture's writer thread (which
/// writes them out in batches). The core never waits: a block that does
/// not fit is dropped and counted, so a slow disk costs packets in the
/// file, never time on the core.
final class CaptureRing: @unchecked Sendable {
    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    /// Bytes ever appended (the producer's), and ever taken (the consumer's).
    private let head = ManagedAtomic<Int>(0)
    private let tail = ManagedAtomic<Int>(0)
    /// Blocks dropped because the ring was full (the producer's; read by the writer).
    let dropped = ManagedAtomic<UInt64>(0)
    /// Blocks appended (the producer's; read by reports).
    let recorded = ManagedAtomic<UInt64>(0)
    /// Set by the core when it has let go of the ring for good.
    let detached = ManagedAtomic<Bool>(false)
    /// Per port: packets the filter passed, and those dropped for room.
    /// Plain counters, written by the core and read by the writer only
    /// after `detached` (whose store publishes them).
    var seenPerPort: [UInt64]
    var droppedPerPort: [UInt64]

    init(capacity: Int, ports: Int) {
        self.capacity = capacity
        storage = .allocate(byteCount: capacity, alignment: 64)
        seenPerPort = [UInt64](repeating: 0, count: ports)
        droppedPerPort = [UInt64](repeating: 0, count: ports)
    }

    func seen(port: Int) -> UInt64 { seenPerPort[port] }
    func droppedOn(port: Int) -> UInt64 { droppedPerPort[port] }

    deinit { storage.deallocate() }

    /// Room for `count` more bytes now (producer side).
    @inline(__always)
    func hasRoom(for count: Int) -> Bool {
        head.load(ordering: .relaxed) - tail.load(ordering: .acquiring) + count <= capacity
    }

    /// Appends `count` bytes from `source` (producer side; call `hasRoom` first).
    @inline(__always)
    func append(_ source: UnsafeRawPointer, count: Int) {
        let position = head.load(ordering: .relaxed)
        let start = position % capacity
        let first = min(count, capacity - start)
        (storage + start).copyMemory(from: source, byteCount: first)
        if first < count { storage.copyMemory(from: source + first, byteCount: count - first) }
        head.store(position + count, ordering: .releasing)
    }

    /// Hands every byte waiting to `sink` (in up to two pieces, as they lie
    /// in the ring) and releases them; returns the bytes taken (consumer side).
    @discardableResult
    func drain(_ sink: (UnsafeRawBufferPointer) -> Void) -> Int {
        let end = head.load(ordering: .acquiring)
        let position = tail.load(ordering: .relaxed)
        let count = end - position
        guard count > 0 else { return 0 }
        let start = position % capacity
        let first = min(count, capacity - start)
        sink(UnsafeRawBufferPointer(start: storage + start, count: first))
        if first < count { sink(UnsafeRawBufferPointer(start: storage, count: count - first)) }
        tail.store(end, ordering: .releasing)
        return count
    }
}
