import Atomics
import Capture
import Glibc
import NetDevice
import Packets
import Platform
import Ports
import Sockets
import Stack
import TCP
import Telemetry
import Wire

/// The process's Dataplane: the port opened by dp_init and the cores dp_run
/// runs. With `--cores N` (N > 1) each core has its own NetStack and socket
/// table on its own queue of the port: a device queue pair where the device
/// does RSS (virtio-net with VIRTIO_NET_F_RSS), else a software-steered one
/// (core 0, the thread that called dp_run, then also moves every frame
/// between the device and the other cores' rings).
final class DataplaneRuntime {
    nonisolated(unsafe) static var current: DataplaneRuntime?
    /// dp_stop / DataplaneCores.stop (signal handlers): every run in the process stops.
    static let stopRequested = ManagedAtomic<Bool>(false)
    /// A turn returned false: this run's cores stop, not another
    /// DataplaneCores' running in the same process (tests run several at once).
    let runStopping = ManagedAtomic<Bool>(false)
    /// Runtime core index → socket core id (for dp_interrupt); -1 when not running.
    static let coreIDs: [ManagedAtomic<Int>] = (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic(-1) }

    let options: RuntimeOptions
    let ports: StartedPorts
    var pool: PacketPool { ports.pool }
    let device: any NetDevice
    /// --loopback: the far end of the pair reflects every frame back.
    let reflector: (any NetDevice)?
    /// The running cores (fixed for the whole of dp_run, read from every core's thread).
    var cores: [SocketCore] = []
    /// Application-thread mode: the next core a thread claims.
    let nextClaim = ManagedAtomic<Int>(0)
    /// --capture: recorded by every core's stack; completed at exit.
    let capture: CaptureSession?
    /// The process's telemetry socket (nil with --no-telemetry).
    let telemetry: DataplaneTelemetry?
    /// Static routes and neighbours for every core's stack (DataplaneRuntime+Routes.swift).
    let routes: RuntimeRoutes

    init(options: RuntimeOptions) throws {
        self.options = options
        routes = RuntimeRoutes([])
        // PCI ports DMA from hugepages at the IOVA mode their access needs;
        // host ports take anonymous memory when hugepages are short.
        let pool = PoolRequest(name: "dataplane", capacity: max(options.poolSize, 256))
        if options.loopback {
            ports = try PortBringUp.startLoopbackPair(ringSize: 1024, pool: pool, cores: options.cores)
            reflector = ports[1].device
        } else {
            let spec: PortSpec = options.pci.map { .pci($0) } ?? .tap(options.tap!, mac: options.mac)
            ports = try PortBringUp.start([spec], pool: pool, cores: options.cores, macAddress: options.mac)
            reflector = nil
        }
        device = ports[0].device
        // The loopback's reflector is not the application's port.
        let names = options.loopback ? [ports[0].label] : ports.ports.map(\.label)
        capture = try options.startCapture(portNames: names)
        capture?.completeAtExit()
        let started = ports
        do {
            telemetry = options.telemetry
                ? try DataplaneTelemetry(name: options.telemetryName,
                                         ports: names.indices.map { .init(label: started[$0].label, device: started[$0].device) },
                                         pools: [started.pool])
                : nil
        } catch {
            // A name asked for must be served; the default one is a convenience
            // (not root, no /run): the data plane runs without it.
            if options.telemetryName != nil { throw RuntimeOptions.Failure(errno: EADDRINUSE, message: "telemetry: \(error)") }
            report("no telemetry socket (\(error)); --no-telemetry silences this", level: .warning)
            telemetry = nil
        }
        for command in options.routeCommands {
            do {
                try change(command)
            } catch {
                throw RuntimeOptions.Failure(errno: routeErrno(error), message: "\(command): \(error)")
            }
        }
    }

    deinit {
        // The socket goes with the runtime (tests make several in one process).
        telemetry?.stop()
    }

    /// Makes every core's stack and socket table (on this thread; each core's
    /// thread adopts its own before serving).
    func makeCores() throws -> [SocketCore] {
        var made: [SocketCore] = []
        let group = options.limits.makeGroup()
        for index in 0..<options.cores {
            var limits = StackLimits()
            options.limits.apply(to: &limits)
            var tcp = TCPConfiguration()
            options.limits.apply(to: &tcp)
            let stack = NetStack(pool: pool, limits: limits, tcpConfiguration: tcp)
            // IPv6 (an IPv6 --ip): duplicate address detection by core 0 only.
            let ipv6 = options.ipv6Networks.isEmpty ? nil
                : IPv6Configuration(addresses: options.ipv6Networks, duplicateAddressDetectionTransmits: index == 0 ? 1 : 0)
            let interface = InterfaceConfiguration(address: options.network!, gateway: options.gateway, mtu: options.mtu,
                                                   announceOnStart: index == 0, ipv6: ipv6)
            try ports.attach(0, core: index, to: stack, interface)
            try routes.apply(to: stack)
            stack.capture = capture?.makeCore()
            var configuration = SocketCoreConfiguration()
            configuration.privilegedPorts = options.privilegedPorts
            configuration.idleSleepMicroseconds = options.idleSleepMicroseconds
            configuration.idle = options.idlePolicy
            options.limits.apply(to: &configuration)
            made.append(try SocketCore(stack: stack, group: group, configuration: configuration))
        }
        return made
    }

    /// Runs core 0 on the calling thread and cores 1..<N on pinned threads
    /// until a loop returns < 0 or dp_stop; returns when all have stopped.
    func run(_ loop: @convention(c) (UnsafeMutableRawPointer?) -> Int32, _ argument: UnsafeMutableRawPointer?) throws -> Int32 {
        let work = CoreWork(runtime: self) { _ in loop(argument) >= 0 }
        try run(work)
        return 0
    }

    /// Runs `work` on every core until one turn returns false or a stop.
    func run(_ work: CoreWork) throws {
        // A stop ends one dp_run; the next starts afresh.
        defer { Self.stopRequested.store(false, ordering: .releasing) }
        runStopping.store(false, ordering: .releasing)
        cores = try makeCores()
        defer { cores = [] }
        for (index, core) in cores.enumerated() {
            Self.coreIDs[index].store(core.coreID, ordering: .releasing)
            core.stack.start()
            telemetry?.setCore(index, core.stack)
        }
        defer { for index in cores.indices { telemetry?.setCore(index, nil) } }
        defer { for index in cores.indices { Self.coreIDs[index].store(-1, ordering: .releasing) } }
        var others: CoreGroup?
        if cores.count > 1 {
            let cpus = Cores.availableCPUs()
            let placement = (1..<cores.count).map { cpus[$0 % cpus.count] }
            others = try Cores.launch(on: placement) { core in work.serve(core: core.index + 1) }
        }
        work.serve(core: 0)
        others?.wait()
    }

    /// One core's poll loop: its async tasks and stack, the application's
    /// loop, and (core 0 with --loopback) the reflector.
    func serve(core index: Int, _ turn: (Int) -> Bool) {
        let core = cores[index]
        core.adoptCurrentThread()
        // The pool's per-core cache is indexed by the runtime's core number
        // (Cores.launch numbers its threads from 0, and core 0 is ours).
        let previousCore = Core.current
        try? Cores.adoptCurrentThread(asCore: index)
        defer {
            if let previousCore { try? Cores.adoptCurrentThread(asCore: previousCore) } else { Cores.releaseCurrentThread() }
        }
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }
        let reflecting = index == 0 && reflector != nil
        if reflecting {
            core.whileBlocked = { [unowned self] in self.reflect(burst) }
        }
        defer { core.whileBlocked = nil }
        while !Self.stopRequested.load(ordering: .acquiring) && !runStopping.load(ordering: .acquiring) {
            var work = core.runOnce()
            if reflecting { work += reflect(burst) }
            if !turn(index) { runStopping.store(true, ordering: .releasing) }
            core.idle.afterPoll(work: work)
        }
        core.stack.flush()
    }

    /// --loopback: what the stack sent comes back to it.
    @discardableResult
    func reflect(_ burst: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard let reflector else { return 0 }
        let n = reflector.receive(queue: 0, into: burst)
        if n > 0 {
            let sent = reflector.transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: burst[0..<n]))
            if sent < n { PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[sent..<n])) }
        }
        return n
    }

    /// The runtime core index of the calling thread, or -1.
    func coreIndex() -> Int32 {
        for (index, core) in cores.enumerated() where core.isOnOwnerThread { return Int32(index) }
        return -1
    }
}

/// What each core's thread runs: the application's turn, given the core's
/// index (Sendable: the runtime and the loop are shared by design; each
/// core touches only its own stack and sockets).
struct CoreWork: @unchecked Sendable {
    let runtime: DataplaneRuntime
    let turn: (Int) -> Bool

    func serve(core index: Int) { runtime.serve(core: index, turn) }
}
