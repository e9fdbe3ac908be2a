import Glibc
import Atomics
import Synchronization

/// Work another thread asks a stack's core to do between bursts: read its
/// counters, tables and connections (which only the core may touch), or
/// attach a capture. The core checks one flag per poll step (a relaxed
/// atomic load: the whole cost while nothing is asked) and runs what waits
/// on its own thread; the asking thread waits for the answer with a
/// deadline, so a core that no longer polls costs it a timeout, not a hang.
public final class StackMailbox: @unchecked Sendable {
    /// Raised when a job waits. Unmanaged storage, so that the core's check
    /// is one load through a pointer (no reference counting on the poll step).
    let pending = UnsafeAtomic<Bool>.create(false)
    private let jobs = Mutex<[@Sendable (NetStack) -> Void]>([])
    /// The core's wake-up eventfd while it sleeps in interrupt mode (CoreIdle), else -1.
    let wake = ManagedAtomic<Int32>(-1)
    var wakeDescriptor: Int32 {
        get { wake.load(ordering: .acquiring) }
        set { wake.store(newValue, ordering: .releasing) }
    }

    init() {}

    deinit { pending.destroy() }

    /// Queues `job` for the core (any thread).
    public func post(_ job: @escaping @Sendable (NetStack) -> Void) {
        jobs.withLock { $0.append(job) }
        pending.store(true, ordering: .releasing)
        let descriptor = wakeDescriptor
        if descriptor >= 0 {
            var one: UInt64 = 1
            _ = write(descriptor, &one, 8)
        }
    }

    /// Runs `body` on the core and returns its result, or nil when the core
    /// did not get to it within `timeout` seconds (any thread but the core's).
    public func ask<T: Sendable>(timeout: Double = 1, _ body: @escaping @Sendable (NetStack) -> T) -> T? {
        let answer = Answer<T>()
        post { stack in answer.fulfil(body(stack)) }
        return answer.wait(timeout: timeout)
    }

    /// The core's side, when its check of `pending` found it raised.
    @inline(never)
    func runJobs(_ stack: NetStack) {
        pending.store(false, ordering: .relaxed)
        let taken = jobs.withLock { queued -> [@Sendable (NetStack) -> Void] in
            defer { queued.removeAll() }
            return queued
        }
        for job in taken { job(stack) }
    }
}

/// One answer from a core to a waiting thread.
private final class Answer<T: Sendable>: @unchecked Sendable {
    private let value = Mutex<T?>(nil)
    private let ready = ManagedAtomic<Bool>(false)

    func fulfil(_ result: T) {
        value.withLock { $0 = result }
        ready.store(true, ordering: .releasing)
    }

    func wait(timeout: Double) -> T? {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while !ready.load(ordering: .acquiring) {
            if ContinuousClock.now >= deadline { return nil }
            // The core answers between bursts: within a poll step, usually microseconds.
            var pause = timespec(tv_sec: 0, tv_nsec: 100_000)
            nanosleep(&pause, nil)
        }
        return value.withLock { $0 }
    }
}
