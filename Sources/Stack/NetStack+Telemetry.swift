import NetDevice
import TCP
import Wire

/// A neighbour (ARP) entry as `ip neigh` shows it.
public struct NeighbourEntry: Sendable, Equatable {
    public var address: IPv4Address
    public var macAddress: MACAddress?
    public var interface: Int
    /// INCOMPLETE, REACHABLE or STALE.
    public var state: String
    /// Packets waiting for the address to resolve.
    public var waiting: Int
}

/// A route as `ip route` shows it: connected subnets, the interfaces'
/// gateways and static routes, most specific first (the order of lookup).
public struct RouteEntry: Sendable, Equatable {
    public var destination: IPv4Network
    public var gateway: IPv4Address?
    public var interface: Int
    public var source: IPv4Address
    /// "connected" or "static" (`ip route`'s proto kernel / static).
    public var origin: String
}

/// An interface of the stack: its address, MAC and MTU.
public struct InterfaceEntry: Sendable, Equatable {
    public var index: Int
    public var address: IPv4Network
    public var macAddress: MACAddress
    public var mtu: Int
    public var deviceName: String
    public var queue: Int
}

// Snapshots for telemetry. They read the stack's tables, which only the
// core touches: call them on the core's thread (`mailbox.ask`), never from
// another. They allocate, which is fine there: they run when asked, not
// per packet.
extension NetStack {
    public var tcpConnectionInfos: [TCPConnectionInfo] { tcpTable?.connectionInfos() ?? [] }
    public var tcpListenerInfos: [TCPListenerInfo] { tcpTable?.listenerInfos() ?? [] }

    public var neighbours: [NeighbourEntry] { arp.snapshot() }

    public var routes: [RouteEntry] {
        routeTable.routes.map { route in
            RouteEntry(destination: route.destination, gateway: route.gateway, interface: route.interface,
                       source: interfaces[route.interface].address, origin: route.origin.rawValue)
        }
    }

    public var interfaceEntries: [InterfaceEntry] {
        interfaces.map { interface in
            InterfaceEntry(index: interface.index, address: interface.network, macAddress: interface.macAddress, mtu: interface.mtu,
                           deviceName: interface.device.info.deviceName, queue: interface.queue)
        }
    }

    /// The devices of the interfaces, in order (port i is interface i in the tools).
    public var interfaceDevices: [any NetDevice] { interfaces.map(\.device) }
}

extension ARPCache where Address == IPv4Address {
    func snapshot() -> [NeighbourEntry] {
        var result: [NeighbourEntry] = []
        for i in 0..<capacity {
            let entry = entries[i]
            let state: String
            switch entry.state {
            case .free: continue
            case .incomplete: state = "INCOMPLETE"
            case .reachable: state = "REACHABLE"
            case .stale: state = "STALE"
            case .permanent: state = "PERMANENT"
            }
            result.append(NeighbourEntry(address: entry.address, macAddress: entry.state == .incomplete ? nil : entry.macAddress,
                                         interface: entry.interface, state: state, waiting: entry.pendingCount))
        }
        return result.sorted { $0.address < $1.address }
    }
}

extension NetStack {
    /// Every TCP connection, as `tcpConnectionInfos` lists them, without
    /// the copies (for the fuzz targets' per-step checks; core thread only).
    public func forEachTCPConnection(_ body: (TCPConnection) -> Void) {
        tcpTable?.forEachConnection(body)
    }
}
