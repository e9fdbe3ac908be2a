import NetDevice
import Packets
import Stack
import Steering
import Wire

/// How the cores of a program share one port.
public enum CoreSpread {
    /// One core: queue 0, nothing to steer.
    case single
    /// The device spreads flows over one queue pair per core with RSS (the
    /// key and table the bring-up programmed); ARP replies fan out from queue 0.
    case deviceQueues(DeviceQueues, ToeplitzHash, RSSRedirectionTable)
    /// One queue spread in software by the core that owns it.
    case software(SoftwareSteering)

    public var description: String {
        switch self {
        case .single: "one core"
        case .deviceQueues(_, _, let table): "\(table.queueCount) device queues (RSS)"
        case .software(let steering): "software RSS over \(steering.queueCount) cores"
        }
    }
}

extension PortBringUp {
    /// Opens and starts the ports for `cores` cores: a port whose device does
    /// RSS over enough queues gets a queue pair per core and the Toeplitz key
    /// and table programmed; any other port is spread in software. Attach
    /// each core with `StartedPorts.attach(_:core:to:_:)`.
    public static func start(_ specs: [PortSpec], pool request: PoolRequest, cores: Int,
                             macAddress: MACAddress? = nil) throws -> StartedPorts {
        guard cores > 1 else {
            var started = try start(specs, pool: request, macAddress: macAddress)
            started.spreads = Array(repeating: .single, count: started.ports.count)
            return started
        }
        var opened: [OpenedPort] = []
        for spec in specs { opened.append(try PortOpener.open(spec)) }
        let pool = try opened.makePool(
            name: request.name, capacity: request.capacity, cacheSize: request.cacheSize, policy: request.policy)
        let toeplitz = ToeplitzHash()!
        var spreads: [CoreSpread] = []
        for port in opened {
            let info = port.device.info
            var configuration = PortConfiguration(receivePools: [pool], receiveOffloads: info.receiveOffloads)
            configuration.transmitOffloads = stackTransmitOffloads(info)
            let deviceQueues = info.offersReceiveSideScaling && info.maximumReceiveQueues >= cores
                && info.maximumTransmitQueues >= cores
            if deviceQueues, let table = RSSRedirectionTable(queues: cores) {
                configuration.receiveQueues = cores
                configuration.transmitQueues = cores
                configuration.receiveSideScaling = RSSSettings(key: toeplitz.key, table: table)
            }
            if let macAddress, port.device.macAddress != macAddress { try port.device.setMACAddress(macAddress) }
            try port.device.configure(configuration)
            try port.device.start()
            if deviceQueues, let table = configuration.receiveSideScaling?.table {
                spreads.append(.deviceQueues(try DeviceQueues(device: port.device, queues: cores, pool: pool), toeplitz, table))
            } else {
                spreads.append(.software(try SoftwareSteering(device: port.device, queues: cores, pool: pool, toeplitz: toeplitz)))
            }
        }
        var started = StartedPorts(ports: opened, pool: pool)
        started.spreads = spreads
        return started
    }
}

extension PortBringUp {
    /// A loopback pair for `cores` cores: the first port spread over them in
    /// software, the second (the far end) served by one core.
    public static func startLoopbackPair(ringSize: Int = 1024, pool: PoolRequest, cores: Int) throws -> StartedPorts {
        var started = try startLoopbackPair(ringSize: ringSize, pool: pool)
        started.spreads = cores > 1
            ? [.software(try SoftwareSteering(device: started[0].device, queues: cores, pool: started.pool)), .single]
            : [.single, .single]
        return started
    }
}

extension StartedPorts {
    /// Adds port `index` to core `core`'s stack: its own device queue, its
    /// steered queue, or the port itself when one core serves it. The stack
    /// learns how flows find their core (wrong-core counts, outgoing ports).
    public func attach(_ index: Int, core: Int, to stack: NetStack, _ configuration: InterfaceConfiguration) throws(StackError) {
        switch spreads.indices.contains(index) ? spreads[index] : .single {
        case .single:
            try stack.addInterface(device: ports[index].device, configuration: configuration)
        case .deviceQueues(let queues, let toeplitz, let table):
            try stack.addInterface(device: queues.queue(core), configuration: configuration)
            stack.flowSteering = FlowSteering(toeplitz: toeplitz, table: table, queue: core)
        case .software(let steering):
            try stack.addInterface(device: steering.queue(core), configuration: configuration)
            stack.flowSteering = FlowSteering(toeplitz: steering.toeplitz, table: steering.table, queue: core)
        }
    }
}
