import Atomics
import CPlatform

/// Whether one thread or several use a side of a ring.
public enum RingSync: Sendable {
    case single
    case multi
}

/// Why a ring could not be made.
public struct RingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
}

/// A bounded, lock-free FIFO of small values (packet handles, pointers),
/// shaped like DPDK's rte_ring: free-running 32-bit head and tail indexes
/// per side, a compare-and-swap on the head for several producers (or
/// consumers), and an in-order tail update that publishes the slots.
///
/// Bulk calls move all `n` or none; burst calls move as many as fit.
/// Capacity is a power of two and every slot is usable.
public final class Ring<Element: BitwiseCopyable>: @unchecked Sendable {
    public let capacity: Int
    @usableFromInline let mask: UInt32
    @usableFromInline let producerSync: RingSync
    @usableFromInline let consumerSync: RingSync
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    /// Producer head/tail and consumer head/tail, each on its own cache line.
    @usableFromInline let indexes: UnsafeMutableRawPointer
    @usableFromInline let producerHead: UnsafeAtomic<UInt32>
    @usableFromInline let producerTail: UnsafeAtomic<UInt32>
    @usableFromInline let consumerHead: UnsafeAtomic<UInt32>
    @usableFromInline let consumerTail: UnsafeAtomic<UInt32>

    static var cacheLine: Int { 64 }

    /// - Parameter capacity: a power of two from 1 to 2^31.
    public init(capacity: Int, producers: RingSync = .multi, consumers: RingSync = .multi) throws(RingError) {
        guard capacity > 0 else { throw RingError(description: "ring capacity \(capacity): must be positive") }
        guard capacity & (capacity - 1) == 0 else {
            throw RingError(description: "ring capacity \(capacity): must be a power of two (for example \(1 << (Int.bitWidth - capacity.leadingZeroBitCount)))")
        }
        guard capacity <= 1 << 31 else { throw RingError(description: "ring capacity \(capacity): at most 2^31") }
        self.capacity = capacity
        mask = UInt32(capacity - 1)
        producerSync = producers
        consumerSync = consumers
        slots = .allocate(capacity: capacity)
        let indexes = UnsafeMutableRawPointer.allocate(byteCount: 4 * Self.cacheLine, alignment: Self.cacheLine)
        self.indexes = indexes
        func atomic(_ line: Int) -> UnsafeAtomic<UInt32> {
            // Spelled through UnsafeAtomic: with Synchronization visible too,
            // `UInt32.AtomicRepresentation` is ambiguous.
            let storage = (indexes + line * Ring.cacheLine).bindMemory(to: UnsafeAtomic<UInt32>.Storage.self, capacity: 1)
            storage.initialize(to: UnsafeAtomic<UInt32>.Storage(0))
            return UnsafeAtomic(at: storage)
        }
        producerHead = atomic(0)
        producerTail = atomic(1)
        consumerHead = atomic(2)
        consumerTail = atomic(3)
    }

    deinit {
        slots.deallocate()
        indexes.deallocate()
    }

    /// Values in the ring now (exact when no other thread is moving it).
    public var count: Int {
        let produced = producerTail.load(ordering: .acquiring)
        let consumed = consumerTail.load(ordering: .acquiring)
        return Int(min(produced &- consumed, UInt32(capacity)))
    }

    public var freeCount: Int { capacity - count }
    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count == capacity }

    // MARK: Enqueue

    /// Adds all of `values` or none; true when added.
    @inlinable @discardableResult
    public func enqueue(bulk values: UnsafeBufferPointer<Element>) -> Bool {
        enqueue(values, exact: true) == values.count
    }

    /// Adds as many of `values` as fit, in order; returns how many.
    @inlinable
    public func enqueue(burst values: UnsafeBufferPointer<Element>) -> Int {
        enqueue(values, exact: false)
    }

    /// Adds one value; false when full.
    @inlinable
    public func enqueue(_ value: Element) -> Bool {
        withUnsafePointer(to: value) { enqueue(UnsafeBufferPointer(start: $0, count: 1), exact: true) == 1 }
    }

    @inlinable @inline(__always)
    func enqueue(_ values: UnsafeBufferPointer<Element>, exact: Bool) -> Int {
        let wanted = UInt32(truncatingIfNeeded: values.count)
        guard wanted > 0 else { return 0 }
        var head: UInt32
        var n: UInt32
        while true {
            head = producerHead.load(ordering: .relaxed)
            // Acquire pairs with the consumers' release of their tail: the
            // slots they freed are read before we overwrite them.
            let free = UInt32(capacity) &+ consumerTail.load(ordering: .acquiring) &- head
            n = wanted <= free ? wanted : (exact ? 0 : free)
            if n == 0 { return 0 }
            if producerSync == .single {
                producerHead.store(head &+ n, ordering: .relaxed)
                break
            }
            if producerHead.weakCompareExchange(
                expected: head, desired: head &+ n, ordering: .relaxed).exchanged
            {
                break
            }
        }
        var index = head & mask
        for i in 0..<Int(n) {
            slots[Int(index)] = values[i]
            index = (index &+ 1) & mask
        }
        // Earlier producers publish first, so the tail only moves over
        // filled slots.
        if producerSync == .multi { Self.waitForTurn(producerTail, head) }
        producerTail.store(head &+ n, ordering: .releasing)
        return Int(n)
    }

    /// Waits until `tail` reaches `head` (earlier threads have published).
    /// Cores never sleep, so this is a short spin; when threads outnumber
    /// CPUs, the thread we wait for may be preempted, so after a while we
    /// yield the CPU instead of spinning through its time slice.
    @inlinable
    static func waitForTurn(_ tail: UnsafeAtomic<UInt32>, _ head: UInt32) {
        var spins = 0
        while tail.load(ordering: .relaxed) != head {
            dp_pause()
            spins += 1
            if spins & 255 == 0 { dp_yield() }
        }
    }

    // MARK: Dequeue

    /// Fills all of `output` or takes nothing; true when filled.
    @inlinable @discardableResult
    public func dequeue(bulk output: UnsafeMutableBufferPointer<Element>) -> Bool {
        dequeue(output, exact: true) == output.count
    }

    /// Takes up to `output.count` values; returns how many.
    @inlinable
    public func dequeue(burst output: UnsafeMutableBufferPointer<Element>) -> Int {
        dequeue(output, exact: false)
    }

    /// Takes one value, or nil when empty.
    @inlinable
    public func dequeue() -> Element? {
        withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { slot in
            dequeue(slot, exact: true) == 1 ? slot[0] : nil
        }
    }

    @inlinable @inline(__always)
    func dequeue(_ output: UnsafeMutableBufferPointer<Element>, exact: Bool) -> Int {
        let wanted = UInt32(truncatingIfNeeded: output.count)
        guard wanted > 0 else { return 0 }
        var head: UInt32
        var n: UInt32
        while true {
            head = consumerHead.load(ordering: .relaxed)
            let entries = producerTail.load(ordering: .acquiring) &- head
            n = wanted <= entries ? wanted : (exact ? 0 : entries)
            if n == 0 { return 0 }
            if consumerSync == .single {
                consumerHead.store(head &+ n, ordering: .relaxed)
                break
            }
            if consumerHead.weakCompareExchange(
                expected: head, desired: head &+ n, ordering: .relaxed).exchanged
            {
                break
            }
        }
        var index = head & mask
        for i in 0..<Int(n) {
            output[i] = slots[Int(index)]
            index = (index &+ 1) & mask
        }
        if consumerSync == .multi { Self.waitForTurn(consumerTail, head) }
        consumerTail.store(head &+ n, ordering: .releasing)
        return Int(n)
    }
}
