import Atomics
import Glibc
import Synchronization

/// The executor of a core's async tasks: jobs run on the core's own thread,
/// inside its loop (`SocketCore.runOnce`), between poll steps. A job
/// enqueued on the core's thread (every resumption by the poll loop) goes
/// into a plain array; only a task started from another thread passes a
/// mutex, and the loop looks at that inbox only when an atomic says it is
/// not empty.
public final class SocketCoreExecutor: TaskExecutor, @unchecked Sendable {
    weak var core: SocketCore?
    private var jobs: [UnownedJob] = []
    private var running: [UnownedJob] = []
    private let inbox = Mutex<[UnownedJob]>([])
    private let inboxCount = ManagedAtomic<Int>(0)

    init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if let core, core.isOnOwnerThread {
            jobs.append(job)
        } else {
            inbox.withLock { $0.append(job) }
            inboxCount.wrappingIncrement(ordering: .releasing)
        }
    }

    /// Runs every job queued so far (not those they enqueue: next turn).
    func runJobs() {
        if inboxCount.load(ordering: .acquiring) > 0 {
            let foreign = inbox.withLock { list in
                defer { list.removeAll() }
                return list
            }
            inboxCount.wrappingDecrement(by: foreign.count, ordering: .releasing)
            jobs.append(contentsOf: foreign)
        }
        guard !jobs.isEmpty else { return }
        swap(&jobs, &running)
        for job in running { job.runSynchronously(on: asUnownedTaskExecutor()) }
        running.removeAll(keepingCapacity: true)
    }

    public var hasJobs: Bool { !jobs.isEmpty || inboxCount.load(ordering: .relaxed) > 0 }
}
