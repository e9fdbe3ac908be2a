import Atomics
import Platform
import Sockets
import Synchronization

extension DataplaneCores {
    /// Runs `main` as a task on every core (on that core's executor, so its
    /// async socket calls and the child tasks of its task groups run on
    /// the core's thread), and the cores until every core's `main` has
    /// returned. When one throws, every core stops and `serve` rethrows
    /// the first error. `stop()`, or SIGINT/SIGTERM once
    /// `StopSignals.install()` ran, stops the cores with tasks still
    /// suspended (they are abandoned, not resumed).
    ///
    ///     try dataplane.serve { core, sockets in
    ///         let listener = try Socket(.stream, on: sockets)
    ///         ...
    ///     }
    public func serve(_ main: @escaping @Sendable (_ core: Int, _ sockets: SocketCore) async throws -> Void) throws {
        let tasks = CoreTasks(cores: coreCount)
        try run { core, sockets in
            if tasks.start(core) {
                sockets.task {
                    do { try await main(core, sockets) } catch { tasks.fail(error) }
                    tasks.finish()
                }
            }
            return tasks.running && !StopSignals.stopRequested
        }
        if let failure = tasks.failure { throw failure }
    }
}

/// What the cores of `serve` share: which cores started their task (each
/// core writes only its own flag), how many tasks are still running, and
/// the first error.
private final class CoreTasks: @unchecked Sendable {
    private let started: UnsafeMutableBufferPointer<Bool>
    private let remaining: ManagedAtomic<Int>
    private let failed = ManagedAtomic(false)
    private let firstError = Mutex<(any Error)?>(nil)

    init(cores: Int) {
        started = .allocate(capacity: cores)
        started.initialize(repeating: false)
        remaining = ManagedAtomic(cores)
    }

    deinit { started.deallocate() }

    /// True once per core: on its first turn.
    func start(_ core: Int) -> Bool {
        guard !started[core] else { return false }
        started[core] = true
        return true
    }

    func finish() { remaining.wrappingDecrement(ordering: .releasing) }

    func fail(_ error: any Error) {
        firstError.withLock { if $0 == nil { $0 = error } }
        failed.store(true, ordering: .releasing)
    }

    /// Read on every turn: two atomic loads, no lock.
    var running: Bool { !failed.load(ordering: .acquiring) && remaining.load(ordering: .acquiring) > 0 }

    var failure: (any Error)? { firstError.withLock { $0 } }
}
