import Packets
import TCP
import Wire

// Routes and static neighbours, changed at run time on the stack's own
// thread (the runtime applies a change to every core's stack; other
// threads go through `mailbox`). A change is a control-plane call: it may
// allocate; lookups (NetStack+IPv4.swift `route(to:)`) do not.
extension NetStack {
    /// An interface's connected subnet, and a default route through its
    /// gateway when it has one (the first interface's default wins, as before).
    func addInterfaceRoutes(_ interface: NetInterface) {
        try? routeTable.add(IPv4Route(destination: interface.network, interface: interface.index, origin: .connected))
        if let gateway = interface.configuration.gateway {
            try? routeTable.add(IPv4Route(destination: IPv4Network(address: .any, prefixLength: 0)!, gateway: gateway,
                                          interface: interface.index))
        }
    }

    /// Adds a static route to `destination` through `gateway` (on the
    /// interface whose subnet holds it, or `interface`), or on-link out of
    /// `interface` when there is no gateway. Throws networkUnreachable for
    /// a gateway on no connected subnet (as Linux's `ip route add` does),
    /// invalidConfiguration for a bad interface, exists for a duplicate.
    public func addRoute(_ destination: IPv4Network, via gateway: IPv4Address?, interface: Int? = nil) throws(StackError) {
        let index = try routeInterface(for: gateway, interface: interface)
        do {
            try routeTable.add(IPv4Route(destination: destination, gateway: gateway, interface: index))
        } catch {
            throw Self.routeError(error, "\(destination.canonical)")
        }
    }

    /// Removes the static route to `destination` (through `gateway` when given).
    public func removeRoute(_ destination: IPv4Network, via gateway: IPv4Address? = nil, interface: Int? = nil) throws(StackError) {
        do {
            try routeTable.remove(destination, gateway: gateway, interface: interface)
        } catch {
            throw Self.routeError(error, "\(destination.canonical)")
        }
    }

    /// A permanent neighbour entry: `address` is at `macAddress` on the
    /// interface whose subnet holds it (or `interface`). No ARP request is
    /// ever sent for it and no ARP packet changes it.
    public func addNeighbour(_ address: IPv4Address, at macAddress: MACAddress, interface: Int? = nil) throws(StackError) {
        guard macAddress.isValidUnicast else {
            throw StackError(.invalidConfiguration, "neighbour \(address): \(macAddress) is not a unicast MAC address")
        }
        let index = try routeInterface(for: address, interface: interface)
        let added = arp.setPermanent(address, at: macAddress, interface: index, now: now) { waiting, mac, index in
            sendFrame(waiting, to: mac, etherType: .ipv4, on: interfaces[index])
        }
        guard added else {
            throw StackError(.noBuffers, "neighbour \(address): the neighbour table is full (\(arp.capacity) entries)")
        }
    }

    /// Removes the neighbour entry for `address` (static or learnt).
    public func removeNeighbour(_ address: IPv4Address) throws(StackError) {
        guard arp.remove(address) else { throw StackError(.notFound, "no neighbour entry for \(address)") }
    }

    /// The interface a next hop is reached on: `interface` when given (and
    /// it must hold `nextHop` on its subnet when there is one), else the
    /// interface whose connected subnet holds `nextHop`.
    private func routeInterface(for nextHop: IPv4Address?, interface: Int?) throws(StackError) -> Int {
        if let interface {
            guard interface >= 0, interface < interfaces.count else {
                throw StackError(.invalidConfiguration, "interface \(interface): the stack has \(interfaces.count) (0...\(interfaces.count - 1))")
            }
            if let nextHop, !interfaces[interface].network.contains(nextHop) {
                throw StackError(.networkUnreachable, "\(nextHop) is not on interface \(interface)'s subnet \(interfaces[interface].network)")
            }
            return interface
        }
        guard let nextHop else {
            throw StackError(.invalidConfiguration, "a route needs a gateway or an interface")
        }
        guard let found = interfaces.firstIndex(where: { $0.network.contains(nextHop) }) else {
            throw StackError(.networkUnreachable, "\(nextHop) is on no interface's subnet: a gateway or neighbour must be directly reachable")
        }
        return found
    }

    private static func routeError(_ error: RouteTableError, _ destination: String) -> StackError {
        switch error {
        case .exists: StackError(.exists, "a route to \(destination) is already there (remove it first)")
        case .notFound: StackError(.notFound, "no static route to \(destination)")
        case .full: StackError(.noBuffers, "the route table is full")
        case .connected: StackError(.invalidConfiguration, "\(destination) is an interface's connected subnet: it goes with the interface")
        }
    }

    /// ARP gave up on the next hop of `packet` (an IPv4 packet that waited
    /// for it). As on Linux (arp_error_report → an ICMP host unreachable to
    /// itself → tcp_v4_err / udp_err): a TCP connection whose SYN it was
    /// fails with EHOSTUNREACH; a UDP socket hears nothing (a host
    /// unreachable is a soft error there, reported only with IP_RECVERR).
    /// Frees the packet.
    func neighbourFailed(_ packet: PacketBuffer) {
        let bytes = packet.bytes
        if bytes.count >= IPv4Packet.minimumHeaderLength + ICMPv4Quote.leadingByteCount,
           let quote = try? ICMPv4Quote.parse(bytes), quote.header.protocol == .tcp, let table = tcpTable {
            table.failConnecting(local: TCPEndpoint(address: quote.header.source, port: quote.sourcePort),
                                 remote: TCPEndpoint(address: quote.header.destination, port: quote.destinationPort),
                                 error: .hostUnreachable)
        }
        packet.free()
    }
}
