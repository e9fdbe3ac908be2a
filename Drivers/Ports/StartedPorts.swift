import NetDevice
import Packets
import Stack

/// Started ports and the pool they receive into.
public struct StartedPorts {
    public let ports: [OpenedPort]
    public let pool: PacketPool
    /// How several cores share each port (empty: one core; see PortBringUp+Cores).
    public internal(set) var spreads: [CoreSpread] = []

    public init(ports: [OpenedPort], pool: PacketPool) {
        self.ports = ports
        self.pool = pool
    }

    public var devices: [any NetDevice] { ports.map(\.device) }

    public subscript(index: Int) -> OpenedPort { ports[index] }

    /// Adds port `index` to `stack` as an interface with `configuration`.
    public func attach(_ index: Int, to stack: NetStack, _ configuration: InterfaceConfiguration) throws(StackError) {
        try stack.addInterface(device: ports[index].device, configuration: configuration)
    }

    /// Stops every port.
    public func stop() {
        for port in ports { port.device.stop() }
    }
}
