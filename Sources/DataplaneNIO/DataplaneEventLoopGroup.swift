import Atomics
import Dispatch
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Platform
import Sockets
import Stack

/// NIO's `EventLoopGroup` whose loops are data-plane cores: one thread per
/// core, each owning its `SocketCore` (made on that thread by `makeCore`)
/// and running its poll loop as a `DataplaneEventLoop`.
///
///     let group = try DataplaneEventLoopGroup(cores: 1) { _ in try SocketCore(stack: stack) }
///     let channel = try DataplaneServerBootstrap(group: group).bind(host: "0.0.0.0", port: 8080).wait()
///
/// Sockets belong to their core, so a channel lives on the loop of the core
/// whose stack holds its connection (a server's children on its listener's loop).
public final class DataplaneEventLoopGroup: EventLoopGroup, @unchecked Sendable {
    // @unchecked: `loops` is immutable; the rest are atomics and locks.

    public struct Configuration: Sendable {
        /// How long an idle loop sleeps between poll steps (0 spins, as a
        /// poll-mode core does; tasks from other threads wake it early).
        public var idleSleepMicroseconds: UInt32 = 20
        /// When set, loop i adopts Dataplane core number `firstCoreIndex + i`
        /// (the packet pool's per-core caches need it when they are on).
        public var firstCoreIndex: Int?
        /// When set, loop i is pinned to CPU `cpus[i % cpus.count]`.
        public var cpus: [Int]?
        /// How a group made over ports idles (Docs/OPERATIONS.md "Idle"):
        /// nil, `.poll` or `.sleep` use `idleSleepMicroseconds` as above;
        /// `.interrupt` waits on the NIC queue's receive interrupt after the
        /// policy's spin (a queue without one naps instead).
        public var idlePolicy: IdlePolicy?
        /// A group made over ports serves telemetry (`dp-stat`, `dp-dumpcap`:
        /// Docs/OPERATIONS.md) on /run/dataplane/<name>/telemetry.sock.
        public var telemetry = true
        /// The telemetry socket's name (nil: program-pid; a name given must
        /// be free, the default one is skipped with a warning when it cannot be served).
        public var telemetryName: String?

        public init(idleSleepMicroseconds: UInt32 = 20, firstCoreIndex: Int? = nil, cpus: [Int]? = nil) {
            self.idleSleepMicroseconds = idleSleepMicroseconds
            self.firstCoreIndex = firstCoreIndex
            self.cpus = cpus
        }
    }

    public let loops: [DataplaneEventLoop]
    private let nextIndex = ManagedAtomic<Int>(0)
    private var threads: [pthread_t] = []
    private let shutdownStarted = ManagedAtomic<Bool>(false)
    private let afterStop = NIOLockedValueBox<[@Sendable () -> Void]>([])
    private let shutdownDone = NIOLockedValueBox<(done: Bool, waiters: [@Sendable (Error?) -> Void])>((false, []))

    /// Starts `cores` loops; `makeCore(i)` runs on loop i's thread and makes
    /// (or adopts) that core's socket table. Returns when every loop runs;
    /// throws the first core's error (and stops the others) when one fails.
    public init(cores: Int, configuration: Configuration = Configuration(),
                makeCore: @escaping @Sendable (Int) throws -> SocketCore) throws {
        precondition(cores > 0, "a DataplaneEventLoopGroup needs at least one core")
        loops = (0..<cores).map { DataplaneEventLoop(index: $0, idleSleepMicroseconds: configuration.idleSleepMicroseconds) }
        let started = DispatchSemaphore(value: 0)
        let failures = NIOLockedValueBox<[Error]>([])
        for loop in loops {
            let start = LoopStart(loop: loop, configuration: configuration, makeCore: makeCore, started: started, failures: failures)
            threads.append(try Self.spawn(start))
        }
        for _ in loops { started.wait() }
        if let failure = failures.withLockedValue({ $0.first }) {
            for loop in loops { loop.requestStop() }
            for thread in threads { pthread_join(thread, nil) }
            threads = []
            throw failure
        }
    }

    deinit {
        guard !shutdownStarted.load(ordering: .acquiring) else { return }
        // Dropped without a shutdown: the loops stop all the same. The last
        // reference may go on a loop's own thread, which cannot join itself.
        for loop in loops { loop.requestStop() }
        if loops.contains(where: \.inEventLoop) {
            for thread in threads { pthread_detach(thread) }
        } else {
            for thread in threads { pthread_join(thread, nil) }
        }
    }

    public func next() -> EventLoop {
        loops[nextIndex.loadThenWrappingIncrement(ordering: .relaxed) % loops.count]
    }

    public func any() -> EventLoop {
        // The caller's own loop when it is on one, as NIOPosix's groups do.
        loops.first { $0.inEventLoop } ?? next()
    }

    public func makeIterator() -> EventLoopIterator { EventLoopIterator(loops) }

    /// Closes every channel, stops every loop and joins its thread, then
    /// calls `callback` on `queue`.
    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        if loops.contains(where: \.inEventLoop) {
            queue.async { callback(EventLoopError.unsupportedOperation) }
            return
        }
        let first = !shutdownStarted.exchange(true, ordering: .acquiringAndReleasing)
        let alreadyDone = shutdownDone.withLockedValue { state -> Bool in
            if !state.done { state.waiters.append({ error in queue.async { callback(error) } }) }
            return state.done
        }
        if alreadyDone {
            queue.async { callback(nil) }
            return
        }
        guard first else { return }
        for loop in loops { loop.requestStop() }
        let threads = UnsafeTransfer(self.threads)
        DispatchQueue.global().async { [shutdownDone, afterStop] in
            for thread in threads.value { pthread_join(thread, nil) }
            for action in afterStop.withLockedValue({ $0 }) { action() }
            let waiters = shutdownDone.withLockedValue { state -> [@Sendable (Error?) -> Void] in
                state.done = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter(nil) }
        }
    }

    /// Runs `action` once every loop has stopped (ports the group opened).
    func whenStopped(_ action: @escaping @Sendable () -> Void) {
        afterStop.withLockedValue { $0.append(action) }
    }

    public var description: String { "DataplaneEventLoopGroup(\(loops.count) cores)" }

    // MARK: Threads

    private struct LoopStart: @unchecked Sendable {
        // @unchecked: handed to exactly one new thread.
        let loop: DataplaneEventLoop
        let configuration: Configuration
        let makeCore: @Sendable (Int) throws -> SocketCore
        let started: DispatchSemaphore
        let failures: NIOLockedValueBox<[Error]>

        func run() {
            let index = loop.index
            if let first = configuration.firstCoreIndex {
                let cpu = configuration.cpus.map { $0[index % $0.count] }
                try? Cores.adoptCurrentThread(asCore: first + index, pinnedTo: cpu)
            }
            let sockets: SocketCore
            do {
                sockets = try makeCore(index)
                sockets.adoptCurrentThread()
            } catch {
                failures.withLockedValue { $0.append(error) }
                loop.state.store(.stopped, ordering: .releasing)
                started.signal()
                return
            }
            started.signal()
            loop.run(sockets: sockets)
            if configuration.firstCoreIndex != nil { Cores.releaseCurrentThread() }
        }
    }

    private static func spawn(_ start: LoopStart) throws -> pthread_t {
        let box = Unmanaged.passRetained(LoopStartBox(start)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<LoopStartBox>.fromOpaque(argument!).takeRetainedValue()
            box.start.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<LoopStartBox>.fromOpaque(box).release()
            throw IOError(errnoCode: result, reason: "pthread_create for a DataplaneEventLoop")
        }
        return thread
    }

    private final class LoopStartBox {
        let start: LoopStart
        init(_ start: LoopStart) { self.start = start }
    }
}
