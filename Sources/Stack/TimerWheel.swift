/// A timer that can be cancelled: the slot and the generation it had when
/// scheduled (a stale handle cancels nothing).
public struct TimerHandle: Hashable, Sendable {
    @usableFromInline let index: Int32
    @usableFromInline let generation: UInt32
}

/// A hashed timer wheel on the time-stamp counter (one per core): ticks of
/// `tickCycles`, `slotCount` slots, timers further out than one turn wait
/// in their slot for their round. Nodes come from a fixed pool, so
/// scheduling allocates nothing; a full pool refuses (the caller counts it).
///
/// `Payload` says what to do when the timer fires (an enum of the stack's),
/// so firing needs no closures stored per timer.
final class TimerWheel<Payload: BitwiseCopyable> {
    struct Node {
        var payload: Payload?
        var deadlineTick: UInt64
        var next: Int32
        var previous: Int32
        var slot: Int32
        var generation: UInt32
    }

    let tickCycles: UInt64
    let capacity: Int
    private let slotMask: UInt64
    private let slots: UnsafeMutablePointer<Int32>
    private let nodes: UnsafeMutablePointer<Node>
    private var freeHead: Int32
    private(set) var currentTick: UInt64
    private(set) var activeCount = 0

    /// - Parameters:
    ///   - slotCount: a power of two.
    ///   - now: the counter value that is tick 0's start.
    init(capacity: Int, slotCount: Int = 1024, tickCycles: UInt64, now: UInt64) {
        precondition(slotCount > 0 && slotCount & (slotCount - 1) == 0, "timer wheel slot count must be a power of two")
        self.capacity = max(capacity, 1)
        self.tickCycles = max(tickCycles, 1)
        slotMask = UInt64(slotCount - 1)
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: -1, count: slotCount)
        nodes = .allocate(capacity: self.capacity)
        for i in 0..<self.capacity {
            nodes[i] = Node(payload: nil, deadlineTick: 0, next: i + 1 < self.capacity ? Int32(i + 1) : -1,
                            previous: -1, slot: -1, generation: 0)
        }
        freeHead = 0
        currentTick = now / self.tickCycles
    }

    deinit {
        slots.deallocate()
        nodes.deallocate()
    }

    /// Schedules `payload` to fire at counter value `deadline` (at the first
    /// `advance` at or after it); nil when every node is in use.
    func schedule(at deadline: UInt64, _ payload: Payload) -> TimerHandle? {
        guard freeHead >= 0 else { return nil }
        let index = freeHead
        freeHead = nodes[Int(index)].next
        // Round up so that a timer never fires early.
        let tick = max((deadline + tickCycles - 1) / tickCycles, currentTick + 1)
        let slot = Int32(truncatingIfNeeded: tick & slotMask)
        let head = slots[Int(slot)]
        nodes[Int(index)].payload = payload
        nodes[Int(index)].deadlineTick = tick
        nodes[Int(index)].slot = slot
        nodes[Int(index)].previous = -1
        nodes[Int(index)].next = head
        if head >= 0 { nodes[Int(head)].previous = index }
        slots[Int(slot)] = index
        activeCount += 1
        return TimerHandle(index: index, generation: nodes[Int(index)].generation)
    }

    /// Cancels a timer; false when it already fired or was cancelled.
    @discardableResult
    func cancel(_ handle: TimerHandle) -> Bool {
        let i = Int(handle.index)
        guard i >= 0, i < capacity, nodes[i].generation == handle.generation, nodes[i].payload != nil else { return false }
        if nodes[i].slot == Self.expiring {
            // Due in the advance under way: it is released there, unfired.
            nodes[i].payload = nil
            return true
        }
        guard nodes[i].slot >= 0 else { return false }
        unlink(handle.index)
        release(handle.index)
        return true
    }

    private static var expiring: Int32 { -2 }

    private func unlink(_ index: Int32) {
        let node = nodes[Int(index)]
        if node.previous >= 0 { nodes[Int(node.previous)].next = node.next } else { slots[Int(node.slot)] = node.next }
        if node.next >= 0 { nodes[Int(node.next)].previous = node.previous }
        nodes[Int(index)].slot = -1
    }

    private func release(_ index: Int32) {
        nodes[Int(index)].payload = nil
        nodes[Int(index)].generation &+= 1
        nodes[Int(index)].next = freeHead
        freeHead = index
        activeCount -= 1
    }

    /// Fires every timer due by counter value `now`, in no particular order
    /// within a tick. `fire` may schedule and cancel timers.
    func advance(to now: UInt64, _ fire: (Payload) -> Void) {
        let target = now / tickCycles
        guard target > currentTick else { return }
        // Nothing scheduled: nothing can fire, and a long jump (an idle
        // core's wake-up, a fuzz program's clock step) need not visit the slots.
        guard activeCount > 0 else {
            currentTick = target
            return
        }
        // More than one turn behind: every slot is visited once.
        let steps = min(target - currentTick, slotMask + 1)
        var tick = target - steps + 1
        while tick <= target {
            // Take the due timers out first, then fire them: firing may
            // schedule or cancel others in the same slot.
            var expired: Int32 = -1
            var index = slots[Int(tick & slotMask)]
            while index >= 0 {
                let next = nodes[Int(index)].next
                if nodes[Int(index)].deadlineTick <= target {
                    unlink(index)
                    nodes[Int(index)].slot = Self.expiring
                    nodes[Int(index)].next = expired
                    expired = index
                }
                index = next
            }
            while expired >= 0 {
                let current = expired
                expired = nodes[Int(current)].next
                let payload = nodes[Int(current)].payload
                nodes[Int(current)].slot = -1
                release(current)
                if let payload { fire(payload) }
            }
            tick += 1
        }
        currentTick = target
    }
}
