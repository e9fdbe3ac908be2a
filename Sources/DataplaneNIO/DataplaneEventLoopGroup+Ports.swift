import Glibc
import Platform
import NIOCore
import Ports
import Sockets
import Stack
import TCP
import Telemetry
import Wire

extension DataplaneEventLoopGroup {
    /// Opens one port (a tap, or a PCI device bound for user space) and
    /// starts `cores` loops over it, each with its own stack on its own
    /// queue of the port (device RSS, or software RSS as dp_init does).
    /// The port stops when the group has shut down.
    ///
    ///     let group = try DataplaneEventLoopGroup(port: .tap("dp0", mac: nil),
    ///                                             address: IPv4Network("10.0.0.2/24")!)
    public convenience init(port: PortSpec, address: IPv4Network, gateway: IPv4Address? = nil, mtu: Int? = nil,
                            cores: Int = 1, poolSize: Int = 8192,
                            sockets socketConfiguration: SocketCoreConfiguration = SocketCoreConfiguration(),
                            configuration: Configuration = Configuration(firstCoreIndex: 0)) throws {
        var configuration = configuration
        // The pool's per-core caches are indexed by core number.
        if configuration.firstCoreIndex == nil { configuration.firstCoreIndex = 0 }
        let ports = try PortBringUp.start([port], pool: PoolRequest(name: "dataplane-nio", capacity: poolSize), cores: cores)
        let shared = SharedPorts(ports)
        let telemetry: DataplaneTelemetry?
        do {
            telemetry = try Self.startTelemetry(over: ports, configuration)
        } catch {
            ports.stop()
            throw error
        }
        var socketConfiguration = socketConfiguration
        if let policy = configuration.idlePolicy, policy.mode == .interrupt { socketConfiguration.idle = policy }
        try self.init(cores: cores, configuration: configuration) { [socketConfiguration] index in
            // Received full segments stay in their packet buffers until read:
            // one copy, packet → ByteBuffer (Docs/NIO.md "Copies").
            var tcp = TCPConfiguration()
            tcp.receiveLending = true
            let stack = NetStack(pool: shared.ports.pool, tcpConfiguration: tcp)
            try shared.ports.attach(0, core: index, to: stack, InterfaceConfiguration(
                address: address, gateway: gateway, mtu: mtu, announceOnStart: index == 0))
            stack.start()
            let core = try SocketCore(stack: stack, configuration: socketConfiguration)
            telemetry?.setCore(index, stack)  // read through the stack's mailbox, on this loop
            return core
        }
        whenStopped {
            telemetry?.stop()
            shared.ports.stop()
        }
    }

    /// The group's telemetry socket over its ports (nil when turned off, or
    /// when the default name cannot be served: not root, no /run).
    private static func startTelemetry(over ports: StartedPorts, _ configuration: Configuration) throws -> DataplaneTelemetry? {
        guard configuration.telemetry else { return nil }
        do {
            return try DataplaneTelemetry(name: configuration.telemetryName,
                                          ports: ports.ports.map { .init(label: $0.label, device: $0.device) }, pools: [ports.pool])
        } catch {
            if configuration.telemetryName != nil { throw IOError(errnoCode: EADDRINUSE, reason: "telemetry: \(error)") }
            DataplaneLog.logger("dataplane.nio").warning("no telemetry socket (\(error))")
            return nil
        }
    }
}

/// The started ports, handed to every loop thread: each attaches its own
/// queue, on its own thread, once.
private final class SharedPorts: @unchecked Sendable {
    let ports: StartedPorts
    init(_ ports: StartedPorts) { self.ports = ports }
}

extension DataplaneEventLoopGroup {
    /// A tap port named `tap` with the address `address` ("A.B.C.D/P"):
    /// the common case without importing Ports and Wire.
    ///
    ///     let group = try DataplaneEventLoopGroup(tap: "dp0", address: "10.0.0.2/24")
    public convenience init(tap: String, address: String, gateway: String? = nil, cores: Int = 1) throws {
        guard let network = IPv4Network(address), address.contains("/") else {
            throw IOError(errnoCode: EINVAL, reason: "'\(address)' is not A.B.C.D/PREFIX")
        }
        var router: IPv4Address?
        if let gateway {
            guard let parsed = IPv4Address(gateway) else { throw IOError(errnoCode: EINVAL, reason: "gateway '\(gateway)' is not A.B.C.D") }
            router = parsed
        }
        try self.init(port: .tap(tap, mac: nil), address: network, gateway: router, cores: cores)
    }
}
