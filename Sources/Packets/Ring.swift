import Atomics
import CPlatform

/// Whether one thread or several use a side of a ring.
public enum RingSync: Sendable {
    case single
    case multi
}

/// How a ring call learns a side's mode: from the ring at run time
/// (`RingSyncOfRing`, as rte_ring_enqueue reads the ring's flags) or named
/// at compile time (`RingSyncSingle`, `RingSyncMulti`, as rte_ring_sp_enqueue
/// and rte_ring_mp_enqueue), so that the test folds away. A named mode
/// must be the ring's (asserted in debug builds).
public protocol RingSyncChoice {
    /// Whether the side is single-threaded, given the ring's mode.
    static func single(_ ringMode: RingSync) -> Bool
}

public enum RingSyncOfRing: RingSyncChoice {
    @inlinable @inline(__always) public static func single(_ ringMode: RingSync) -> Bool { ringMode == .single }
}

public enum RingSyncSingle: RingSyncChoice {
    @inlinable @inline(__always) public static func single(_ ringMode: RingSync) -> Bool { true }
}

public enum RingSyncMulti: RingSyncChoice {
    @inlinable @inline(__always) public static func single(_ ringMode: RingSync) -> Bool { false }
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
    //
    // Every call takes the producers' mode as a RingSyncChoice type, the
    // ring's by default: one body, the test of the mode read where it is
    // made (so the default calls compile as before) or folded away.

    /// Adds all of `values` or none; true when added.
    @inlinable @discardableResult
    public func enqueue<P: RingSyncChoice>(
        bulk values: UnsafeBufferPointer<Element>, producers: P.Type = RingSyncOfRing.self
    ) -> Bool {
        checkProducers(P.self)
        return enqueue(values, exact: true, P.self) == values.count
    }

    /// Adds as many of `values` as fit, in order; returns how many.
    @inlinable
    public func enqueue<P: RingSyncChoice>(
        burst values: UnsafeBufferPointer<Element>, producers: P.Type = RingSyncOfRing.self
    ) -> Int {
        checkProducers(P.self)
        return enqueue(values, exact: false, P.self)
    }

    /// Adds one value; false when full.
    @inlinable @inline(__always)
    public func enqueue<P: RingSyncChoice>(_ value: Element, producers: P.Type = RingSyncOfRing.self) -> Bool {
        checkProducers(P.self)
        let head = reserveProduction(1, exact: true, P.self)
        guard head.count == 1 else { return false }
        (slots + Int(truncatingIfNeeded: head.start & mask)).initialize(to: value)
        publishProduction(head.start, head.count, P.self)
        return true
    }

    /// A mode a call names must be the ring's (debug builds).
    @inlinable @inline(__always)
    func checkProducers<P: RingSyncChoice>(_: P.Type) {
        assert(P.single(producerSync) == (producerSync == .single), "a ring of \(producerSync) producers used as \(P.self)")
    }

    @inlinable @inline(__always)
    func enqueue<P: RingSyncChoice>(_ values: UnsafeBufferPointer<Element>, exact: Bool, _: P.Type) -> Int {
        guard let source = values.baseAddress else { return 0 }
        let head = reserveProduction(UInt32(truncatingIfNeeded: values.count), exact: exact, P.self)
        guard head.count > 0 else { return 0 }
        let n = Int(truncatingIfNeeded: head.count)
        // The slots from head on, in at most two runs (before and after
        // the end of the array), each a plain copy loop that vectorises.
        let index = Int(truncatingIfNeeded: head.start & mask)
        let run = capacity &- index
        if _fastPath(n <= run) {
            copyElements(from: source, to: slots + index, count: n)
        } else {
            copyElements(from: source, to: slots + index, count: run)
            copyElements(from: source + run, to: slots, count: n &- run)
        }
        publishProduction(head.start, head.count, P.self)
        return n
    }

    /// Claims up to `wanted` free slots (exactly `wanted` or none when
    /// `exact`); returns the first one's index and how many.
    @inlinable @inline(__always)
    func reserveProduction<P: RingSyncChoice>(_ wanted: UInt32, exact: Bool, _: P.Type) -> (start: UInt32, count: UInt32) {
        var head = producerHead.load(ordering: .acquiring)
        while true {
            // Acquire pairs with the consumers' release of their tail: the
            // slots they freed are read before we overwrite them.
            let free = (mask &+ 1) &+ consumerTail.load(ordering: .acquiring) &- head
            let n = wanted <= free ? wanted : (exact ? 0 : free)
            if n == 0 { return (head, 0) }
            if P.single(producerSync) {
                // Only this thread moves the head: a plain store, no CAS.
                producerHead.store(head &+ n, ordering: .relaxed)
                return (head, n)
            }
            // Acquire/release as rte_ring's C11 model: whoever sees our head
            // also sees the consumer tail we computed it from.
            let (exchanged, current) = producerHead.weakCompareExchange(
                expected: head, desired: head &+ n, ordering: .acquiringAndReleasing)
            if exchanged { return (head, n) }
            head = current
        }
    }

    /// Makes `count` slots from `start` visible to consumers.
    @inlinable @inline(__always)
    func publishProduction<P: RingSyncChoice>(_ start: UInt32, _ count: UInt32, _: P.Type) {
        // Earlier producers publish first, so the tail only moves over
        // filled slots.
        if !P.single(producerSync) && producerTail.load(ordering: .relaxed) != start {
            ringWaitForTurn(producerTail, start)
        }
        producerTail.store(start &+ count, ordering: .releasing)
    }

    // MARK: Dequeue (the consumers' mode as the producers' above)

    /// Fills all of `output` or takes nothing; true when filled.
    @inlinable @discardableResult
    public func dequeue<C: RingSyncChoice>(
        bulk output: UnsafeMutableBufferPointer<Element>, consumers: C.Type = RingSyncOfRing.self
    ) -> Bool {
        checkConsumers(C.self)
        return dequeue(output, exact: true, C.self) == output.count
    }

    /// Takes up to `output.count` values; returns how many.
    @inlinable
    public func dequeue<C: RingSyncChoice>(
        burst output: UnsafeMutableBufferPointer<Element>, consumers: C.Type = RingSyncOfRing.self
    ) -> Int {
        checkConsumers(C.self)
        return dequeue(output, exact: false, C.self)
    }

    /// Takes one value, or nil when empty.
    @inlinable @inline(__always)
    public func dequeue<C: RingSyncChoice>(consumers: C.Type = RingSyncOfRing.self) -> Element? {
        checkConsumers(C.self)
        let head = reserveConsumption(1, exact: true, C.self)
        guard head.count == 1 else { return nil }
        let value = slots[Int(truncatingIfNeeded: head.start & mask)]
        publishConsumption(head.start, head.count, C.self)
        return value
    }

    /// A mode a call names must be the ring's (debug builds).
    @inlinable @inline(__always)
    func checkConsumers<C: RingSyncChoice>(_: C.Type) {
        assert(C.single(consumerSync) == (consumerSync == .single), "a ring of \(consumerSync) consumers used as \(C.self)")
    }

    @inlinable @inline(__always)
    func dequeue<C: RingSyncChoice>(_ output: UnsafeMutableBufferPointer<Element>, exact: Bool, _: C.Type) -> Int {
        guard let target = output.baseAddress else { return 0 }
        let head = reserveConsumption(UInt32(truncatingIfNeeded: output.count), exact: exact, C.self)
        guard head.count > 0 else { return 0 }
        let n = Int(truncatingIfNeeded: head.count)
        let index = Int(truncatingIfNeeded: head.start & mask)
        let run = capacity &- index
        if _fastPath(n <= run) {
            copyElements(from: slots + index, to: target, count: n)
        } else {
            copyElements(from: slots + index, to: target, count: run)
            copyElements(from: slots, to: target + run, count: n &- run)
        }
        publishConsumption(head.start, head.count, C.self)
        return n
    }

    /// Claims up to `wanted` filled slots (exactly `wanted` or none when
    /// `exact`); returns the first one's index and how many.
    @inlinable @inline(__always)
    func reserveConsumption<C: RingSyncChoice>(_ wanted: UInt32, exact: Bool, _: C.Type) -> (start: UInt32, count: UInt32) {
        var head = consumerHead.load(ordering: .acquiring)
        while true {
            let entries = producerTail.load(ordering: .acquiring) &- head
            let n = wanted <= entries ? wanted : (exact ? 0 : entries)
            if n == 0 { return (head, 0) }
            if C.single(consumerSync) {
                consumerHead.store(head &+ n, ordering: .relaxed)
                return (head, n)
            }
            let (exchanged, current) = consumerHead.weakCompareExchange(
                expected: head, desired: head &+ n, ordering: .acquiringAndReleasing)
            if exchanged { return (head, n) }
            head = current
        }
    }

    /// Hands `count` slots from `start` back to producers.
    @inlinable @inline(__always)
    func publishConsumption<C: RingSyncChoice>(_ start: UInt32, _ count: UInt32, _: C.Type) {
        if !C.single(consumerSync) && consumerTail.load(ordering: .relaxed) != start {
            ringWaitForTurn(consumerTail, start)
        }
        // Release: our reads of the slots happen before producers reuse them.
        consumerTail.store(start &+ count, ordering: .releasing)
    }
}

/// Waits until `tail` reaches `head` (earlier threads have published).
/// Cores never sleep, so this is a short spin; when threads outnumber
/// CPUs, the thread we wait for may be preempted, so after a while we
/// yield the CPU instead of spinning through its time slice. Out of line
/// and not generic: the uncontended path only tests the tail.
@usableFromInline @inline(never)
func ringWaitForTurn(_ tail: UnsafeAtomic<UInt32>, _ head: UInt32) {
    var spins = 0
    while tail.load(ordering: .relaxed) != head {
        dp_pause()
        spins += 1
        if spins & 255 == 0 { dp_yield() }
    }
}
