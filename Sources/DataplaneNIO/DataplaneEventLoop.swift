import Atomics
import Dispatch
import Glibc
import Logging
import Platform
import NIOConcurrencyHelpers
import NIOCore
import Sockets
import Stack

/// One data-plane core as a NIO `EventLoop`: the core's poll loop runs on
/// the loop's thread and, each turn, runs NIO's tasks, the scheduled tasks
/// that are due, one `SocketCore.runOnce()` (the core's Swift-concurrency
/// jobs and one poll step of its stack), and then the channels whose
/// sockets the core's interest set reports ready. It sleeps only when a
/// turn found nothing to do, for at most the idle sleep (the NIC must
/// still be polled) or until the next timer or a task from another thread.
///
/// It is also a `SerialExecutor` (`NIOSerialEventLoopExecutor`): an actor
/// can run on it, and its jobs are queued without a closure each; and a
/// `TaskExecutor` (SE-0417): a task started with the loop as its executor
/// preference (`Task(executorPreference:)`, `addTask(executorPreference:)`,
/// `withTaskExecutorPreference`) runs its nonisolated code on the loop's
/// thread, so a handler awaiting its channel's `NIOAsyncChannel` reads and
/// writes without a thread hop per message.
public final class DataplaneEventLoop: EventLoop, @unchecked Sendable {
    // @unchecked: everything but `inbox`, `thread` and `state` is touched only
    // on the loop's own thread (checked with `inEventLoop`).

    enum State: Int, AtomicValue {
        case starting, running, stopping, stopped
    }

    /// The loop's index in its group (and its core's, when the group adopts cores).
    public let index: Int
    let idleSleepNanoseconds: UInt64
    let inbox = LoopInbox()
    let state = ManagedAtomic<State>(.starting)
    private let thread = ManagedAtomic<UInt>(0)
    private let scheduledIDs = ManagedAtomic<UInt64>(0)
    private let lateLock = NIOLock()
    private let lateTaskWarned = ManagedAtomic<Bool>(false)

    /// The core's socket table; set on the loop's thread before it runs.
    public internal(set) var sockets: SocketCore!
    var interestSet: SocketInterestSet!
    private var tasks: [LoopTask] = []
    private var running: [LoopTask] = []
    private var scheduled = ScheduledTasks()
    /// The channels whose sockets are in the interest set, by token.
    var selectables: [UInt64: any LoopSelectable] = [:]
    private var nextToken: UInt64 = 1
    private var readyEvents = UnsafeMutableBufferPointer<SocketInterestSet.Event>.allocate(capacity: 256)

    init(index: Int, idleSleepMicroseconds: UInt32) {
        self.index = index
        idleSleepNanoseconds = UInt64(idleSleepMicroseconds) * 1000
        taskExecutor = LoopTaskExecutor(loop: self)
    }

    deinit { readyEvents.deallocate() }

    // MARK: EventLoop

    public var inEventLoop: Bool { UInt(bitPattern: Int(bitPattern: pthread_self())) == thread.load(ordering: .relaxed) }

    public func execute(_ task: @escaping @Sendable () -> Void) { submit(.closure(task)) }

    public func _executeIsolatedUnsafeUnchecked(_ task: @escaping () -> Void) {
        // Called only on the loop: the closure never crosses threads.
        submit(.closure(task))
    }

    public func enqueue(_ job: consuming ExecutorJob) { submit(.job(UnownedJob(job))) }

    /// The loop as a task executor only: prefer it over the loop itself
    /// for tasks that should run on the loop (see `LoopTaskExecutor`).
    /// Set once in `init` (read from any thread afterwards).
    public private(set) var taskExecutor: LoopTaskExecutor!

    func enqueueTaskJob(_ job: UnownedJob) { submit(.taskJob(job)) }

    private func submit(_ task: LoopTask) {
        if inEventLoop {
            tasks.append(task)
        } else if state.load(ordering: .acquiring) == .stopped {
            // The thread is gone and every channel closed: nothing else can
            // touch the loop's state, so the task runs here, and a promise
            // completed through the loop (a failure, a late close) still
            // reaches its waiters instead of hanging them.
            if !lateTaskWarned.exchange(true, ordering: .relaxed) {
                DataplaneLog.logger("dataplane.nio").warning(
                    "DataplaneEventLoop \(index): a task was submitted after the loop shut down; it runs on the caller's thread")
            }
            runLate(task)
        } else {
            inbox.append(task)
        }
    }

    /// Runs a task on the caller's thread after the loop stopped: one caller
    /// at a time, which counts as the loop's thread while it runs (NIO's
    /// futures check `inEventLoop`).
    private func runLate(_ task: LoopTask) {
        let me = UInt(bitPattern: Int(bitPattern: pthread_self()))
        let body = {
            switch task {
            case .closure(let body): body()
            case .job(let job): self.run(job)
            case .taskJob(let job): self.runTaskJob(job)
            }
        }
        if thread.load(ordering: .relaxed) == me { return body() }
        lateLock.withLock {
            thread.store(me, ordering: .relaxed)
            body()
            thread.store(0, ordering: .relaxed)
        }
    }

    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        let id = scheduledIDs.wrappingIncrementThenLoad(ordering: .relaxed)
        let entry = ScheduledTasks.Task(
            run: {
                // Runs on the loop, where the promise is completed.
                do { promise.assumeIsolatedUnsafeUnchecked().succeed(try task()) } catch { promise.fail(error) }
            },
            fail: { promise.fail($0) })
        let scheduled = Scheduled(promise: promise) { [self] in
            // Cancellation may come from any thread; the table is the loop's.
            if inEventLoop { cancelScheduled(id) } else { execute { self.cancelScheduled(id) } }
        }
        if state.load(ordering: .acquiring) == .stopped {
            promise.fail(EventLoopError.shutdown)
        } else if inEventLoop {
            self.scheduled.insert(id: id, deadline: deadline, entry)
        } else {
            let transfer = UnsafeTransfer(entry)
            execute { self.scheduled.insert(id: id, deadline: deadline, transfer.value) }
        }
        return scheduled
    }

    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    private func cancelScheduled(_ id: UInt64) {
        scheduled.remove(id: id)?.fail(EventLoopError.cancelled)
    }

    public func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on DataplaneEventLoop \(index)'s thread", file: file, line: line)
    }

    public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on DataplaneEventLoop \(index)'s thread, where this must not be called", file: file, line: line)
    }

    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        // A loop belongs to its group: the group stops all of its loops.
        queue.async { callback(EventLoopError.unsupportedOperation) }
    }

    public var description: String { "DataplaneEventLoop(\(index))" }

    // MARK: The loop

    /// Runs on the loop's thread until the group stops it.
    func run(sockets: SocketCore) {
        thread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .releasing)
        self.sockets = sockets
        interestSet = sockets.makeInterestSet()
        // Not a store: a stop requested before this point must hold.
        _ = state.compareExchange(expected: .starting, desired: .running, ordering: .acquiringAndReleasing)
        // With an interrupt idle policy the core's CoreIdle waits on the
        // NIC's interrupts; a task from another thread wakes it (its eventfd).
        let interruptIdle = sockets.idle.effectiveMode == .interrupt ? sockets.idle : nil
        if let interruptIdle { inbox.setInterruptWake(interruptIdle.wakeDescriptor) }
        while state.load(ordering: .acquiring) != .stopping {
            let work = turn()
            if let interruptIdle {
                if work > 0 { interruptIdle.afterPoll(work: work) } else { idleOnInterrupts(interruptIdle) }
            } else if work == 0 {
                idle()
            }
        }
        inbox.setInterruptWake(-1)
        stop()
    }

    /// One turn; returns how much work it found (0: idle).
    @discardableResult
    func turn() -> Int {
        var work = runTasks()
        work += runDueScheduled()
        work += sockets.runOnce()
        work += dispatchReadiness()
        // Writes made by the handlers this turn leave now, not at the next poll.
        sockets.stack.flush()
        return work
    }

    private func runTasks() -> Int {
        inbox.drain(into: &tasks)
        guard !tasks.isEmpty else { return 0 }
        swap(&tasks, &running)
        let count = running.count
        for task in running {
            switch task {
            case .closure(let body): body()
            case .job(let job): run(job)
            case .taskJob(let job): runTaskJob(job)
            }
        }
        running.removeAll(keepingCapacity: true)
        return count
    }

    /// An actor's job: isolated to the loop as its serial executor, with the
    /// loop as its task executor (SE-0417: an executor that is both).
    private func run(_ job: UnownedJob) {
        jobsRun &+= 1
        job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
    }

    /// A job of a task that prefers the loop: on the loop as its task
    /// executor, isolated to no actor. Run isolated to the loop's serial
    /// executor instead, every call into nonisolated async code (the generic
    /// executor) looked like a change of executor to the runtime: a hop
    /// through the loop's queue each time, 27 per Hummingbird request.
    private func runTaskJob(_ job: UnownedJob) {
        jobsRun &+= 1
        job.runSynchronously(on: taskExecutor.asUnownedTaskExecutor())
    }

    /// Swift concurrency jobs the loop ran (read on the loop's thread; tests count hops).
    private(set) var jobsRun = 0

    private func runDueScheduled() -> Int {
        let now = NIODeadline.now().uptimeNanoseconds
        var count = 0
        while let task = scheduled.popDue(now: now) {
            task.run()
            count += 1
        }
        return count
    }

    private func dispatchReadiness() -> Int {
        guard !selectables.isEmpty else { return 0 }
        let found: Int
        do {
            found = try interestSet.wait(into: readyEvents, timeoutMilliseconds: 0)
        } catch {
            return 0  // only EINTR (an interrupt of the core); the next turn looks again
        }
        for i in 0..<found {
            let event = readyEvents[i]
            selectables[event.userData]?.ready(event.events)
        }
        return found
    }

    /// Spins, then waits on the NIC's interrupts (CoreIdle) until a frame,
    /// a task from another thread, or the next scheduled task is due.
    private func idleOnInterrupts(_ coreIdle: CoreIdle) {
        guard tasks.isEmpty, inbox.beginInterruptWait() else { return }
        defer { inbox.endInterruptWait() }
        var limit: Int32?
        if let next = scheduled.nextDeadline() {
            let now = NIODeadline.now().uptimeNanoseconds
            limit = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 100))
        }
        coreIdle.afterPoll(work: 0, waitLimitMilliseconds: limit)
    }

    /// Sleeps until the idle sleep passes, the next timer is due or a task comes.
    private func idle() {
        guard idleSleepNanoseconds > 0, tasks.isEmpty else { return }
        var deadline = NIODeadline.now().uptimeNanoseconds + idleSleepNanoseconds
        if let next = scheduled.nextDeadline() { deadline = min(deadline, next) }
        inbox.sleep(until: deadline)
    }

    /// The loop's end: channels closed, their FINs sent, timers failed,
    /// queued tasks run, the socket table released on its own thread.
    private func stop() {
        for selectable in Array(selectables.values) { selectable.closeForShutdown() }
        // A few turns let the closes finish (promises, FIN/RST on the wire).
        for _ in 0..<8 { turn() }
        for task in scheduled.removeAll() { task.fail(EventLoopError.shutdown) }
        // From here on, tasks from other threads run on their callers
        // (`runLate`), one at a time with this final drain.
        lateLock.withLock {
            state.store(.stopped, ordering: .releasing)
            while true {
                inbox.drain(into: &tasks)
                if tasks.isEmpty { break }
                _ = runTasks()
            }
            selectables.removeAll()
            interestSet = nil
            sockets.stack.flush()
            sockets = nil
            thread.store(0, ordering: .releasing)
        }
    }

    /// Asks the loop to stop after its current turn (any thread).
    func requestStop() {
        var current = state.load(ordering: .acquiring)
        while current == .starting || current == .running {
            let (exchanged, original) = state.compareExchange(expected: current, desired: .stopping, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        inbox.wake()
    }

    // MARK: Channels

    /// Adds a channel's socket to the interest set; returns its token.
    func register(_ selectable: any LoopSelectable, descriptor: Int32, events: PollEvents) throws(SocketError) -> UInt64 {
        let token = nextToken
        nextToken += 1
        try interestSet.add(descriptor, events: events, userData: token)
        selectables[token] = selectable
        return token
    }

    func reregister(token: UInt64, descriptor: Int32, events: PollEvents) throws(SocketError) {
        try interestSet.modify(descriptor, events: events, userData: token)
    }

    /// Forgets a channel (its socket is about to close or has closed).
    func deregister(token: UInt64, descriptor: Int32) {
        try? interestSet.remove(descriptor)
        selectables[token] = nil
    }
}

extension DataplaneEventLoop: NIOSerialEventLoopExecutor {}

// A task that prefers the loop itself (`Task(executorPreference: loop)`)
// has its jobs queued by this `enqueue(_:)`, the serial executor's, and
// run isolated to the loop: correct, but every call into nonisolated async
// code is then a hop through the loop's queue. `taskExecutor` avoids that.
extension DataplaneEventLoop: TaskExecutor {}

/// A `DataplaneEventLoop` as a task executor alone (SE-0417): a task
/// started with it as its executor preference
/// (`Task(executorPreference: loop.taskExecutor)`,
/// `addTask(executorPreference: loop.taskExecutor)`,
/// `withTaskExecutorPreference(loop.taskExecutor)`) runs on the loop's
/// thread, its jobs run isolated to no actor, so calls into nonisolated
/// async code (NIOAsyncChannel's reads and writes, a router) run on
/// without a hop. The loop itself is also a task executor, but its
/// `enqueue` is its serial executor's too, and the jobs it queues run
/// isolated to the loop (an actor's must).
public final class LoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `loop` is immutable; the loop outlives its executor (it holds it).
    unowned let loop: DataplaneEventLoop

    init(loop: DataplaneEventLoop) { self.loop = loop }

    public func enqueue(_ job: consuming ExecutorJob) { loop.enqueueTaskJob(UnownedJob(job)) }
}

/// A channel the loop drives from its interest set.
protocol LoopSelectable: AnyObject {
    /// The socket is ready for `events` (level-triggered: again next turn while it stays so).
    func ready(_ events: PollEvents)
    /// The loop is shutting down: close now.
    func closeForShutdown()
}

/// Moves a value that is used on one thread at a time across a thread hop.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
