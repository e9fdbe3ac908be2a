import NIOCore

/// A loop's scheduled tasks: a binary min-heap of (deadline, order) over
/// task ids, with the tasks themselves in a table so that a cancellation
/// (which names only the id) removes one in O(1); the heap skips ids that
/// are no longer in the table when they come up. Used only on the loop's
/// own thread.
struct ScheduledTasks {
    struct Task {
        /// Runs the task and completes its promise.
        var run: () -> Void
        /// Fails its promise (cancellation, shutdown).
        var fail: (any Error) -> Void
    }

    private struct Key {
        var deadline: UInt64
        /// Submission order: tasks due at the same instant run as scheduled.
        var order: UInt64
        var id: UInt64

        func precedes(_ other: Key) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : order < other.order
        }
    }

    private var heap: [Key] = []
    private var tasks: [UInt64: Task] = [:]
    private var order: UInt64 = 0

    var isEmpty: Bool { tasks.isEmpty }
    var count: Int { tasks.count }

    mutating func insert(id: UInt64, deadline: NIODeadline, _ task: Task) {
        order &+= 1
        tasks[id] = task
        heap.append(Key(deadline: deadline.uptimeNanoseconds, order: order, id: id))
        siftUp(heap.count - 1)
    }

    /// Takes a task out (cancelled); nil when it already ran or was taken.
    mutating func remove(id: UInt64) -> Task? { tasks.removeValue(forKey: id) }

    /// The earliest deadline of a live task (uptime nanoseconds).
    mutating func nextDeadline() -> UInt64? {
        dropDead()
        return heap.first?.deadline
    }

    /// Takes the next task due at or before `now`.
    mutating func popDue(now: UInt64) -> Task? {
        dropDead()
        guard let first = heap.first, first.deadline <= now else { return nil }
        popFirst()
        return tasks.removeValue(forKey: first.id)
    }

    /// Takes every task (shutdown).
    mutating func removeAll() -> [Task] {
        let all = Array(tasks.values)
        tasks.removeAll()
        heap.removeAll()
        return all
    }

    private mutating func dropDead() {
        while let first = heap.first, tasks[first.id] == nil { popFirst() }
    }

    private mutating func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
