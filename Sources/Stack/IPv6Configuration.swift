import Wire

/// IPv6 on one interface. The link-local address (fe80::/64 with the
/// modified EUI-64 of the MAC, RFC 4862 §5.3) is always there; `addresses`
/// adds static ones with their on-link prefix ("fd20::2/64").
public struct IPv6Configuration: Sendable, Equatable {
    public var addresses: [IPv6Network]
    /// Take the default router, on-link prefixes and MTU from router
    /// advertisements (RFC 4861 §6.3.4).
    public var acceptRouterAdvertisements: Bool
    /// Form addresses from advertised prefixes (RFC 4862 SLAAC). Off by
    /// default: only configured addresses are used.
    public var statelessAutoconfiguration: Bool
    /// Neighbour solicitations sent for each address before it is used
    /// (RFC 4862 §5.4 DupAddrDetectTransmits; 0 skips detection).
    public var duplicateAddressDetectionTransmits: Int
    /// How long to wait for an answer to each (RFC 4861 RetransTimer).
    public var retransmitMilliseconds: UInt64

    public init(addresses: [IPv6Network] = [], acceptRouterAdvertisements: Bool = true,
                statelessAutoconfiguration: Bool = false, duplicateAddressDetectionTransmits: Int = 1,
                retransmitMilliseconds: UInt64 = 1000) {
        self.addresses = addresses
        self.acceptRouterAdvertisements = acceptRouterAdvertisements
        self.statelessAutoconfiguration = statelessAutoconfiguration
        self.duplicateAddressDetectionTransmits = duplicateAddressDetectionTransmits
        self.retransmitMilliseconds = retransmitMilliseconds
    }
}

/// What one interface knows about IPv6: its addresses and whether each is
/// still tentative (under duplicate address detection) or found
/// duplicated, the default router and on-link prefixes learnt from router
/// advertisements, and path MTUs learnt from Packet Too Big. All bounded.
final class IPv6InterfaceState {
    enum AddressState { case tentative, preferred, duplicated }

    /// Addresses with their prefixes; the link-local one first.
    private(set) var addresses: [IPv6Network]
    private(set) var states: [AddressState]
    let linkLocal: IPv6Address
    let configuration: IPv6Configuration
    /// The link MTU (an RA's MTU option may lower it, never raise it).
    var linkMTU: Int
    let deviceMTU: Int
    var defaultRouter: IPv6Address?
    var defaultRouterUntil: UInt64 = 0
    /// Prefixes an RA said are on-link (at most `maximumPrefixes`).
    private(set) var onLinkPrefixes: [IPv6Network] = []
    /// Path MTUs below the link MTU, by destination (at most `maximumPathMTUs`).
    private(set) var pathMTUs: [IPv6Address: Int] = [:]
    /// Groups joined by sockets, and the MLD reports owed (RFC 3810).
    var multicast = MulticastMembership()

    static let maximumAddresses = 16
    static let maximumPrefixes = 8
    static let maximumPathMTUs = 256

    init(configuration: IPv6Configuration, macAddress: MACAddress, mtu: Int) throws(StackError) {
        guard configuration.addresses.count < Self.maximumAddresses else {
            throw StackError(.invalidConfiguration, "\(configuration.addresses.count) IPv6 addresses: at most \(Self.maximumAddresses - 1) per interface")
        }
        for network in configuration.addresses {
            let address = network.address
            guard !address.isUnspecified, !address.isMulticast, !address.isLoopback, !address.isIPv4Mapped else {
                throw StackError(.invalidConfiguration, "IPv6 address \(network): must be a unicast address")
            }
        }
        self.configuration = configuration
        linkLocal = IPv6Address(linkLocalFrom: macAddress)
        addresses = [IPv6Network(address: linkLocal, prefixLength: 64)!] + configuration.addresses
        let dad = configuration.duplicateAddressDetectionTransmits > 0
        states = [AddressState](repeating: dad ? .tentative : .preferred, count: addresses.count)
        linkMTU = mtu
        deviceMTU = mtu
    }

    /// True for an address of ours that may be used (not tentative, not duplicated).
    @inline(__always)
    func owns(_ address: IPv6Address) -> Bool {
        for i in 0..<addresses.count where addresses[i].address == address { return states[i] == .preferred }
        return false
    }

    /// The index of `address` among ours, whatever its state.
    func index(of address: IPv6Address) -> Int? {
        addresses.firstIndex { $0.address == address }
    }

    func state(_ index: Int) -> AddressState { states[index] }

    /// True for the multicast groups this interface listens to: all nodes,
    /// the solicited-node group of each address (RFC 4861 §7.2.1) and the
    /// groups its sockets joined.
    @inline(__always)
    func listens(to group: IPv6Address) -> Bool {
        if group == .allNodes { return true }
        for i in 0..<addresses.count where addresses[i].address.solicitedNodeMulticast == group { return true }
        return multicast.contains(group)
    }

    func markPreferred() {
        for i in 0..<states.count where states[i] == .tentative { states[i] = .preferred }
    }

    func markDuplicated(_ index: Int) { states[index] = .duplicated }

    /// True when `destination` is on the link: link-local, or inside the
    /// prefix of one of our addresses or an advertised on-link prefix.
    func isOnLink(_ destination: IPv6Address) -> Bool {
        if destination.isLinkLocal || destination.isMulticast { return true }
        for network in addresses where network.contains(destination) { return true }
        for network in onLinkPrefixes where network.contains(destination) { return true }
        return false
    }

    /// The source for `destination` (RFC 6724 reduced to scope): link-local
    /// for link-local and link-scope multicast destinations, else the
    /// preferred address whose prefix holds it, else the first preferred
    /// global one.
    func sourceAddress(for destination: IPv6Address) -> IPv6Address? {
        if destination.isLinkLocal || destination.isLinkLocalMulticast {
            return states[0] == .preferred ? linkLocal : nil
        }
        var fallback: IPv6Address?
        for i in 1..<addresses.count where states[i] == .preferred {
            if addresses[i].contains(destination) { return addresses[i].address }
            if fallback == nil { fallback = addresses[i].address }
        }
        return fallback
    }

    /// Adds an advertised on-link prefix (a full list keeps what it has).
    func addOnLinkPrefix(_ prefix: IPv6Network) {
        guard !onLinkPrefixes.contains(prefix), onLinkPrefixes.count < Self.maximumPrefixes else { return }
        onLinkPrefixes.append(prefix)
    }

    /// A SLAAC address for an advertised /64 (RFC 4862 §5.5.3), when enabled.
    func addAutoconfigured(_ prefix: IPv6Network) -> Bool {
        guard configuration.statelessAutoconfiguration, prefix.prefixLength == 64, addresses.count < Self.maximumAddresses
        else { return false }
        let address = IPv6Address(high: prefix.address.high, low: linkLocal.low)
        guard index(of: address) == nil, let network = IPv6Network(address: address, prefixLength: 64) else { return false }
        addresses.append(network)
        states.append(.preferred)
        return true
    }

    var hasPathMTUs: Bool { !pathMTUs.isEmpty }

    /// The MTU toward `destination`.
    @inline(__always)
    func mtu(toward destination: IPv6Address) -> Int {
        if pathMTUs.isEmpty { return linkMTU }
        return pathMTUs[destination] ?? linkMTU
    }

    /// Records a Packet Too Big (RFC 8201 §4): never below 1280, never
    /// above the link MTU. Returns true when it lowered the path's MTU.
    func notePacketTooBig(_ destination: IPv6Address, mtu: UInt32) -> Bool {
        let value = max(IPv6Packet.minimumMTU, min(Int(min(mtu, UInt32(Int32.max))), linkMTU))
        guard value < self.mtu(toward: destination) else { return false }
        if pathMTUs.count >= Self.maximumPathMTUs { pathMTUs.removeAll(keepingCapacity: true) }
        pathMTUs[destination] = value
        return true
    }
}
