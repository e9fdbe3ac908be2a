import HeapModule
import NIOCore

/// A loop's scheduled tasks: a min-heap (swift-collections' `Heap`) of
/// (deadline, order) over task ids, with the tasks themselves in a table so
/// that a cancellation (which names only the id) removes one in O(1); the
/// heap skips ids that are no longer in the table when they come up. Used
/// only on the loop's own thread.
struct ScheduledTasks {
    struct Task {
        /// Runs the task and completes its promise.
        var run: () -> Void
        /// Fails its promise (cancellation, shutdown).
        var fail: (any Error) -> Void
    }

    private struct Key: Comparable {
        var deadline: UInt64
        /// Submission order: tasks due at the same instant run as scheduled.
        var order: UInt64
        var id: UInt64

        static func < (a: Key, b: Key) -> Bool {
            a.deadline != b.deadline ? a.deadline < b.deadline : a.order < b.order
        }
    }

    private var heap = Heap<Key>()
    private var tasks: [UInt64: Task] = [:]
    private var order: UInt64 = 0

    var isEmpty: Bool { tasks.isEmpty }
    var count: Int { tasks.count }

    mutating func insert(id: UInt64, deadline: NIODeadline, _ task: Task) {
        order &+= 1
        tasks[id] = task
        heap.insert(Key(deadline: deadline.uptimeNanoseconds, order: order, id: id))
    }

    /// Takes a task out (cancelled); nil when it already ran or was taken.
    mutating func remove(id: UInt64) -> Task? { tasks.removeValue(forKey: id) }

    /// The earliest deadline of a live task (uptime nanoseconds).
    mutating func nextDeadline() -> UInt64? {
        dropDead()
        return heap.min?.deadline
    }

    /// Takes the next task due at or before `now`.
    mutating func popDue(now: UInt64) -> Task? {
        dropDead()
        guard let first = heap.min, first.deadline <= now else { return nil }
        heap.removeMin()
        return tasks.removeValue(forKey: first.id)
    }

    /// Takes every task (shutdown).
    mutating func removeAll() -> [Task] {
        let all = Array(tasks.values)
        tasks.removeAll()
        heap = Heap()
        return all
    }

    private mutating func dropDead() {
        while let first = heap.min, tasks[first.id] == nil { heap.removeMin() }
    }
}
