import Atomics
import Glibc
import NetDevice
import Packets
import Platform
import Ports
import Sockets
import Stack
import Wire

/// What `dp_init` parsed: dp-echo's port and address flags.
struct RuntimeOptions {
    var tap: String?
    var pci: String?
    var loopback = false
    var network: IPv4Network?
    var gateway: IPv4Address?
    var mac: MACAddress?
    var mtu: Int?
    var cores = 1
    var idleSleepMicroseconds: UInt32 = 20
    var poolSize = 8192
    var privilegedPorts = PrivilegedPortPolicy.capability

    struct Failure: Error {
        var errno: Int32
        var message: String
    }

    /// Parses the flags it knows; leaves the others to the application.
    static func parse(_ arguments: [String]) throws(Failure) -> RuntimeOptions {
        var options = RuntimeOptions()
        var i = 0
        func value(_ flag: String) throws(Failure) -> String {
            guard i + 1 < arguments.count else { throw Failure(errno: EINVAL, message: "\(flag) needs a value") }
            i += 1
            return arguments[i]
        }
        while i < arguments.count {
            let argument = arguments[i]
            switch argument {
            case "--tap": options.tap = try value(argument)
            case "--pci": options.pci = try value(argument)
            case "--loopback": options.loopback = true
            case "--ip":
                let text = try value(argument)
                guard text.contains("/"), let network = IPv4Network(text) else {
                    throw Failure(errno: EINVAL, message: "--ip '\(text)': expected A.B.C.D/PREFIX, e.g. 10.9.0.2/24")
                }
                options.network = network
            case "--gateway":
                let text = try value(argument)
                guard let address = IPv4Address(text) else { throw Failure(errno: EINVAL, message: "--gateway '\(text)': expected A.B.C.D") }
                options.gateway = address
            case "--mac":
                let text = try value(argument)
                guard let mac = MACAddress(text), mac.isValidUnicast else {
                    throw Failure(errno: EINVAL, message: "--mac '\(text)': expected a unicast address like 02:00:00:00:00:01")
                }
                options.mac = mac
            case "--mtu", "--cores", "--idle-sleep-us", "--pool-size":
                let text = try value(argument)
                guard let number = Int(text), number >= 0 else { throw Failure(errno: EINVAL, message: "\(argument) '\(text)': expected a number") }
                switch argument {
                case "--mtu": options.mtu = number
                case "--cores": options.cores = number
                case "--idle-sleep-us": options.idleSleepMicroseconds = UInt32(min(number, 1_000_000))
                default: options.poolSize = number
                }
            case "--privileged-ports":
                switch try value(argument) {
                case "capability": options.privilegedPorts = .capability
                case "allowed": options.privilegedPorts = .allowed
                case "denied": options.privilegedPorts = .denied
                case let other: throw Failure(errno: EINVAL, message: "--privileged-ports '\(other)': use capability, allowed or denied")
                }
            default: break
            }
            i += 1
        }
        let ports = [options.tap != nil, options.pci != nil, options.loopback].filter { $0 }.count
        guard ports == 1 else { throw Failure(errno: EINVAL, message: "give exactly one port: --tap NAME, --pci ADDR or --loopback") }
        guard options.network != nil else { throw Failure(errno: EINVAL, message: "--ip A.B.C.D/PREFIX is required") }
        guard options.cores == 1 else {
            throw Failure(errno: EINVAL, message: "--cores \(options.cores): the runtime opens one receive queue per port, so one core serves it")
        }
        return options
    }
}

/// The process's Dataplane: the port opened by dp_init, the cores dp_run runs.
final class DataplaneRuntime {
    nonisolated(unsafe) static var current: DataplaneRuntime?
    static let stopRequested = ManagedAtomic<Bool>(false)
    /// Runtime core index → socket core id (for dp_interrupt); -1 when not running.
    static let coreIDs: [ManagedAtomic<Int>] = (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic(-1) }

    let options: RuntimeOptions
    let pool: PacketPool
    let device: any NetDevice
    /// --loopback: the far end of the pair reflects every frame back.
    let reflector: (any NetDevice)?
    var cores: [SocketCore] = []

    init(options: RuntimeOptions) throws {
        self.options = options
        // PCI ports DMA from hugepages at the IOVA mode their access needs;
        // host ports take anonymous memory when hugepages are short.
        let pool = PoolRequest(name: "dataplane", capacity: max(options.poolSize, 256))
        let started: StartedPorts
        if options.loopback {
            started = try PortBringUp.startLoopbackPair(ringSize: 1024, pool: pool)
            reflector = started[1].device
        } else {
            let spec: PortSpec = options.pci.map { .pci($0) } ?? .tap(options.tap!, mac: options.mac)
            started = try PortBringUp.start([spec], pool: pool, macAddress: options.mac)
            reflector = nil
        }
        self.pool = started.pool
        device = started[0].device
    }

    /// Runs core 0 on the calling thread until a loop returns < 0 or dp_stop.
    func run(_ loop: @convention(c) (UnsafeMutableRawPointer?) -> Int32, _ argument: UnsafeMutableRawPointer?) throws -> Int32 {
        // A stop ends one dp_run; the next starts afresh.
        defer { Self.stopRequested.store(false, ordering: .releasing) }
        let stack = NetStack(pool: pool)
        try stack.addInterface(device: device, configuration: InterfaceConfiguration(
            address: options.network!, gateway: options.gateway, mtu: options.mtu))
        var configuration = SocketCoreConfiguration()
        configuration.privilegedPorts = options.privilegedPorts
        configuration.idleSleepMicroseconds = options.idleSleepMicroseconds
        let core = try SocketCore(stack: stack, configuration: configuration)
        cores = [core]
        Self.coreIDs[0].store(core.coreID, ordering: .releasing)
        defer {
            Self.coreIDs[0].store(-1, ordering: .releasing)
            cores = []
        }
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }
        if reflector != nil {
            core.whileBlocked = { [unowned self] in self.reflect(burst) }
        }
        stack.start()
        while !Self.stopRequested.load(ordering: .acquiring) {
            var work = core.runOnce()
            if reflector != nil { work += reflect(burst) }
            if loop(argument) < 0 { Self.stopRequested.store(true, ordering: .releasing) }
            if work == 0 && options.idleSleepMicroseconds > 0 { usleep(options.idleSleepMicroseconds) }
        }
        stack.flush()
        return 0
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
