import Capture
import Glibc
import NetDevice
import Packets
import Platform
import Stack
import Synchronization

/// A data-plane process's telemetry: its socket, and the standard commands
/// over its ports, pools and cores (DataplaneTelemetry+Commands.swift) and
/// captures (DataplaneTelemetry+Capture.swift).
///
/// How the cores are read (the fast path pays nothing for it): a core's
/// stack, tables and connections are read only on the core's own thread,
/// through its `StackMailbox`: the telemetry thread posts a job, the core
/// runs it between two poll steps (checking one flag per step), and the
/// telemetry thread waits up to a second for the copy. Ports are read
/// the same way through core 0. Pools are read from the telemetry thread:
/// their counters are atomics or plain integers written by one core each,
/// read racily (a torn or stale count is possible and harmless: these are
/// reports, not decisions).
public final class DataplaneTelemetry: @unchecked Sendable {
    public struct Port: @unchecked Sendable {
        public var label: String
        public var device: any NetDevice
        public init(label: String, device: any NetDevice) {
            self.label = label
            self.device = device
        }
    }

    public let router = TelemetryRouter()
    public private(set) var server: TelemetryServer!
    let ports: [Port]
    let pools: [PacketPool]
    let processName: String
    let startedAt = TSCClock.monotonicNanoseconds()
    let cores = Mutex<[Int: NetStackBox]>([:])
    /// The capture started through the socket (dp-dumpcap), if any.
    let remoteCapture = Mutex<CaptureSession?>(nil)
    /// How long to wait for a core's answer.
    public var coreTimeout: Double = 1

    /// Starts serving `/run/dataplane/<name>/telemetry.sock` (name: the
    /// process name and pid when nil).
    public init(name: String?, ports: [Port], pools: [PacketPool]) throws(TelemetryFailure) {
        processName = TelemetryDirectory.currentProcessName()
        self.ports = ports
        self.pools = pools
        addCommands()
        addCaptureCommands()
        do {
            server = try Self.listen(name: name, router: router)
        } catch {
            router.removeAll()
            throw error
        }
        Self.removeAtExit(server)
    }

    /// A given name is used as is; the default (program-pid) gets -2, -3, ...
    /// when this process already serves one (tests run several runtimes).
    static func listen(name: String?, router: TelemetryRouter) throws(TelemetryFailure) -> TelemetryServer {
        if let name { return try TelemetryServer(name: name, router: router) }
        let base = TelemetryDirectory.defaultName()
        var lastError = TelemetryFailure("no name")
        for attempt in 1...32 {
            do {
                return try TelemetryServer(name: attempt == 1 ? base : "\(base)-\(attempt)", router: router)
            } catch {
                lastError = error
                guard error.description.contains("in use") else { throw error }
            }
        }
        throw lastError
    }

    /// Makes the commands without a socket (tests drive `router` directly).
    public init(unlistenedPorts ports: [Port], pools: [PacketPool]) {
        processName = TelemetryDirectory.currentProcessName()
        self.ports = ports
        self.pools = pools
        addCommands()
        addCaptureCommands()
    }

    /// Registers core `index`'s stack (any thread; call again with nil when it stops).
    public func setCore(_ index: Int, _ stack: NetStack?) {
        cores.withLock { $0[index] = stack.map(NetStackBox.init) }
    }

    /// The registered cores' stacks, by index.
    func coreStacks() -> [(Int, NetStackBox)] {
        cores.withLock { $0.sorted { $0.key < $1.key } }
    }

    /// Stops the socket (and a capture it started) and lets the commands
    /// go (they hold this object: it lives until stopped).
    /// Call it once the cores have stopped polling: a capture started
    /// through the socket is completed (its file closed) first.
    public func stop() {
        if let capture = remoteCapture.withLock({ $0 }), !capture.isFinished {
            capture.stopAfterCoresEnded()
            capture.wait()
        }
        server?.stop()
        router.removeAll()
        cores.withLock { $0.removeAll() }
    }

    private static let serversToRemove = Mutex<[TelemetryServer]>([])
    nonisolated(unsafe) private static var creatorProcess: pid_t = 0

    /// A process that ends with exit() without stopping telemetry still
    /// removes its socket.
    static func removeAtExit(_ server: TelemetryServer) {
        let first = serversToRemove.withLock { servers in
            servers.append(server)
            return servers.count == 1
        }
        if first {
            creatorProcess = getpid()
            atexit {
                // A child made by fork() inherits the handler, not the socket's ownership.
                guard getpid() == DataplaneTelemetry.creatorProcess else { return }
                for server in DataplaneTelemetry.serversToRemove.withLock({ $0 }) {
                    unlink(server.path)
                    rmdir("\(TelemetryDirectory.root)/\(server.name)")
                }
            }
        }
    }
}

/// A stack handed to the telemetry thread: it touches only the stack's
/// mailbox (thread-safe), whose jobs run on the core.
struct NetStackBox: @unchecked Sendable {
    let stack: NetStack

    /// `body` run on the core, or nil on timeout.
    func ask<T: Sendable>(timeout: Double, _ body: @escaping @Sendable (NetStack) -> T) -> T? {
        stack.mailbox.ask(timeout: timeout, body)
    }
}
