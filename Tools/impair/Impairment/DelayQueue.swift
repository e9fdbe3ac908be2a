/// Frames waiting for their release time, earliest first; frames with the
/// same release time leave in the order they came. Storage is allocated
/// once: `capacity` slots of `frameCapacity` bytes, a free list and a binary
/// min-heap of (release time, arrival order, slot), so holding a frame
/// allocates nothing.
public final class DelayQueue {
    private struct Entry {
        var release: UInt64
        var order: UInt64
        var slot: Int32

        func precedes(_ other: Entry) -> Bool {
            release != other.release ? release < other.release : order < other.order
        }
    }

    public let capacity: Int
    public let frameCapacity: Int
    private let storage: UnsafeMutableRawPointer
    private var lengths: [Int]
    private var freeSlots: [Int32]
    private var heap: [Entry]
    private var nextOrder: UInt64 = 0

    public init(capacity: Int, frameCapacity: Int) {
        precondition(capacity > 0 && frameCapacity > 0, "DelayQueue needs room for at least one frame")
        self.capacity = capacity
        self.frameCapacity = frameCapacity
        storage = .allocate(byteCount: capacity * frameCapacity, alignment: 64)
        lengths = [Int](repeating: 0, count: capacity)
        freeSlots = (0..<Int32(capacity)).reversed()
        heap = []
        heap.reserveCapacity(capacity)
    }

    deinit { storage.deallocate() }

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    public var isFull: Bool { freeSlots.isEmpty }

    /// When the earliest frame is due, nil when none waits.
    public var nextRelease: UInt64? { heap.first?.release }

    /// Copies `frame` in to leave at `release`. False (nothing stored) when
    /// every slot is taken or the frame is longer than a slot.
    @discardableResult
    public func enqueue(_ frame: UnsafeRawBufferPointer, release: UInt64) -> Bool {
        guard frame.count <= frameCapacity, let slot = freeSlots.popLast() else { return false }
        let start = storage + Int(slot) * frameCapacity
        if let base = frame.baseAddress { start.copyMemory(from: base, byteCount: frame.count) }
        lengths[Int(slot)] = frame.count
        heap.append(Entry(release: release, order: nextOrder, slot: slot))
        nextOrder &+= 1
        siftUp(heap.count - 1)
        return true
    }

    /// Hands every frame due at `now` to `body`, earliest first, and frees
    /// its slot. Returns how many left.
    @discardableResult
    public func releaseDue(now: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var released = 0
        while let first = heap.first, first.release <= now {
            let slot = Int(first.slot)
            removeFirst()
            body(UnsafeRawBufferPointer(start: storage + slot * frameCapacity, count: lengths[slot]))
            freeSlots.append(first.slot)
            released += 1
        }
        return released
    }

    private func removeFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right].precedes(heap[left]) ? right : left
            guard heap[smaller].precedes(heap[parent]) else { return }
            heap.swapAt(parent, smaller)
            parent = smaller
        }
    }
}
