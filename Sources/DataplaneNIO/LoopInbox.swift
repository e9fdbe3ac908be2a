import Atomics
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// What a loop runs: a closure (NIO's `execute`) or a Swift concurrency job
/// (the loop as a `SerialExecutor`), kept apart so a job costs no closure.
enum LoopTask: @unchecked Sendable {
    // @unchecked: closures put here from other threads are @Sendable; the
    // loop's own (isolated) closures are only put in its local queue.
    case closure(() -> Void)
    /// An actor's job (the loop as its serial executor).
    case job(UnownedJob)
    /// A job of a task that prefers the loop (the loop as a task executor).
    case taskJob(UnownedJob)
}

/// Tasks submitted from other threads, and the idle core's wake-up. The
/// loop looks at the locked list only when the atomic count says it is not
/// empty; a producer signals the condition only when the loop sleeps.
final class LoopInbox: @unchecked Sendable {
    // @unchecked: the list is behind `lock`, the rest are atomics and a
    // pthread mutex/condition pair.
    private let lock = NIOLockedValueBox<[LoopTask]>([])
    private let count = ManagedAtomic<Int>(0)
    private let sleeping = ManagedAtomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var woken = false

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Timed waits against the monotonic clock, the one NIODeadline reads.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    var isEmpty: Bool { count.load(ordering: .sequentiallyConsistent) == 0 }

    func append(_ task: LoopTask) {
        lock.withLockedValue { $0.append(task) }
        count.wrappingIncrement(ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) { wake() }
    }

    /// Moves everything submitted so far into `tasks`.
    func drain(into tasks: inout [LoopTask]) {
        guard count.load(ordering: .acquiring) > 0 else { return }
        let taken = lock.withLockedValue { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        count.wrappingDecrement(by: taken.count, ordering: .releasing)
        tasks.append(contentsOf: taken)
    }

    /// The eventfd of the core's interrupt wait (CoreIdle), when the loop
    /// idles on its NIC's interrupts; set on the loop's thread before its
    /// first wait, -1 otherwise.
    private let interruptWake = ManagedAtomic<Int32>(-1)

    func setInterruptWake(_ descriptor: Int32) { interruptWake.store(descriptor, ordering: .sequentiallyConsistent) }

    /// Marks the loop as about to wait on its interrupts; false (and not
    /// marked) when a task is already waiting. `endInterruptWait` after it.
    func beginInterruptWait() -> Bool {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        if isEmpty { return true }
        sleeping.store(false, ordering: .sequentiallyConsistent)
        return false
    }

    func endInterruptWait() { sleeping.store(false, ordering: .sequentiallyConsistent) }

    /// Wakes the loop from `sleep` or its interrupt wait (a new task, shutdown).
    func wake() {
        let descriptor = interruptWake.load(ordering: .sequentiallyConsistent)
        if descriptor >= 0 {
            var one: UInt64 = 1
            _ = write(descriptor, &one, 8)
        }
        pthread_mutex_lock(mutex)
        woken = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Sleeps until `deadline` (uptime nanoseconds) or a wake-up; returns
    /// at once when a task is already waiting.
    func sleep(until deadline: UInt64) {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        defer { sleeping.store(false, ordering: .sequentiallyConsistent) }
        guard isEmpty else { return }
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_mutex_lock(mutex)
        while !woken {
            if pthread_cond_timedwait(condition, mutex, &time) == ETIMEDOUT { break }
        }
        woken = false
        pthread_mutex_unlock(mutex)
    }
}
