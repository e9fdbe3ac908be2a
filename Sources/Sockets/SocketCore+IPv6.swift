import Glibc
import Stack
import SystemPackage
import Wire

/// AF_INET6 stream sockets (RFC 3493): bind, connect, listen and accept
/// with IPv6 addresses; a dual-stack socket (IPV6_V6ONLY off, Linux's
/// default) takes IPv4 peers as v4-mapped addresses ::ffff:a.b.c.d.
/// Errnos as Linux's inet6_bind / tcp_v6_connect give them.
extension SocketCore {
    /// bind() of an AF_INET6 socket: :: (every address, both families
    /// unless v6-only), one of our IPv6 addresses, or a v4-mapped address
    /// of ours (IPv4 only; EINVAL on a v6-only socket).
    public func bind(_ descriptor: Int32, to address: IPv6SocketAddress) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        guard entry.family == AF_INET6 else {
            throw SocketError(.addressFamilyNotSupported, "an AF_INET6 address for an AF_INET socket: make the socket with AF_INET6")
        }
        guard entry.local == nil, entry.connection == nil else {
            throw SocketError(.invalidArgument, "the socket is already bound to \(entry.local6 ?? .unspecified): make a new socket to bind again")
        }
        var view = IPv4SocketAddress(.any, address.port)
        if let v4 = address.address.ipv4Mapped {
            guard !entry.v6Only else {
                throw SocketError(.invalidArgument, "\(address.address) is v4-mapped and the socket is IPV6_V6ONLY")
            }
            view.address = v4
        } else if !address.address.isUnspecified {
            // A datagram socket may bind a group (it then takes only that
            // group's datagrams, as Linux); TCP binds unicast addresses.
            guard !address.address.isMulticast || entry.kind == .datagram else {
                throw SocketError(.invalidArgument, "\(address.address) is multicast: TCP sockets bind unicast addresses")
            }
            guard address.address.isMulticast || stack.isLocalIPv6Address(address.address) else {
                throw SocketError(.addressNotAvailable, "\(address.address) is not an IPv6 address of this core's interfaces (or still tentative): bind to one of them or to ::")
            }
            if address.address.isLinkLocal {
                try checkScope(address.scopeID, for: address.address)
            }
        }
        try bindEntry(slot, entry, to: view, address6: address.address)
        entry.local6 = IPv6SocketAddress(address.address, entry.local!.port, scopeID: address.address.isLinkLocal ? address.scopeID : 0)
    }

    /// A link-local address needs the interface (RFC 4007 §11): scope id
    /// 1...interfaces (EINVAL for 0, ENODEV for no such interface).
    func checkScope(_ scopeID: UInt32, for address: IPv6Address) throws(SocketError) {
        guard scopeID != 0 else {
            throw SocketError(.invalidArgument, "\(address) is link-local: give its interface as sin6_scope_id (1...\(stack.interfaceCount))")
        }
        guard Int(scopeID) <= stack.interfaceCount else {
            throw SocketError(Errno(rawValue: ENODEV), "scope id \(scopeID): this core has \(stack.interfaceCount) interfaces (1...\(stack.interfaceCount))")
        }
    }

    /// connect() of an AF_INET6 stream socket.
    func connectStream6(_ slot: Int, _ entry: SocketEntry, to peer: IPv6SocketAddress) throws(SocketError) {
        if let v4 = peer.address.ipv4Mapped {
            // RFC 3493 §3.7: a dual-stack socket reaches IPv4 peers this way.
            guard !entry.v6Only else {
                throw SocketError(.networkUnreachable, "\(peer.address) is v4-mapped and the socket is IPV6_V6ONLY")
            }
            if let bound = entry.local6, !bound.address.isUnspecified, bound.address.ipv4Mapped == nil {
                throw SocketError(.networkUnreachable, "bound to IPv6 address \(bound.address): it cannot reach IPv4 peer \(v4)")
            }
            try connectStream(slot, entry, to: .inet(IPv4SocketAddress(v4, peer.port)))
            return
        }
        try prepareStreamConnect(entry, peer: peer.description)
        guard !peer.address.isUnspecified, !peer.address.isMulticast else {
            throw SocketError(.networkUnreachable, "\(peer.address) is not a unicast address: TCP connects to unicast peers")
        }
        if peer.address.isLinkLocal { try checkScope(peer.scopeID, for: peer.address) }
        let bound = entry.local6?.address ?? .unspecified
        if bound.ipv4Mapped != nil {
            throw SocketError(.networkUnreachable, "bound to v4-mapped \(bound): it cannot reach IPv6 peer \(peer.address)")
        }
        guard let source = stack.ipv6SourceAddress(toward: peer.address, from: bound) else {
            throw SocketError(.networkUnreachable, "no IPv6 route to \(peer.address): add an address on its prefix or accept a router")
        }
        try openStream(slot, entry, from: source, to: peer.address, port: peer.port,
                       remote: IPv4SocketAddress(.any, peer.port), peer: peer.description)
    }

    /// An AF_INET6 socket's ends from its connection (v4-mapped for IPv4).
    func setAddresses6(_ entry: SocketEntry, _ status: TCPStreamStatus) {
        entry.local6 = IPv6SocketAddress(status.local.address, status.local.port,
                                         scopeID: status.local.address.isLinkLocal ? 1 : 0)
        entry.remote6 = IPv6SocketAddress(status.remote.address, status.remote.port,
                                          scopeID: status.remote.address.isLinkLocal ? 1 : 0)
    }

    /// getsockname() of either family: AF_INET sockets give a
    /// `sockaddr_in`, AF_INET6 ones a `sockaddr_in6`.
    public func socketName(_ descriptor: Int32) throws(SocketError) -> InternetSocketAddress {
        let (_, entry) = try entry(descriptor)
        guard entry.family == AF_INET6 else { return .v4(try localAddress(descriptor)) }
        if entry.kind == .datagram { return .v6(datagramName6(entry)) }
        if let id = entry.connection, let status = stack.tcpStatus(id) {
            return .v6(IPv6SocketAddress(status.local.address, status.local.port,
                                         scopeID: status.local.address.isLinkLocal ? 1 : 0))
        }
        return .v6(entry.local6 ?? .unspecified)
    }

    /// getpeername() of either family (ENOTCONN when not connected).
    public func peerName(_ descriptor: Int32) throws(SocketError) -> InternetSocketAddress {
        let (_, entry) = try entry(descriptor)
        let remote = try peerAddress(descriptor)
        guard entry.family == AF_INET6 else { return .v4(remote) }
        return .v6(entry.remote6 ?? IPv6SocketAddress(mapping: remote))
    }

    /// accept() giving the peer in the listening socket's family.
    public func acceptPeer(_ descriptor: Int32) throws(SocketError) -> (descriptor: Int32, peer: InternetSocketAddress) {
        let (child, peer) = try accept(descriptor)
        return (child, acceptedPeer(child, peer))
    }

    /// An accepted socket's peer in its family (accept and accept4).
    public func acceptedPeer(_ child: Int32, _ peer: IPv4SocketAddress) -> InternetSocketAddress {
        guard let (_, entry) = try? entry(child), entry.family == AF_INET6 else { return .v4(peer) }
        return .v6(entry.remote6 ?? IPv6SocketAddress(mapping: peer))
    }

    /// True for a SOCK_DGRAM socket.
    public func isDatagram(_ descriptor: Int32) throws(SocketError) -> Bool {
        try entry(descriptor).entry.kind == .datagram
    }

    /// The socket's family (AF_INET or AF_INET6), SO_DOMAIN.
    public func family(_ descriptor: Int32) throws(SocketError) -> Int32 {
        try entry(descriptor).entry.family
    }

    /// setsockopt(IPPROTO_IPV6, ...): IPV6_V6ONLY before bind (EINVAL
    /// after, as Linux), and ENOPROTOOPT on an AF_INET socket.
    func setIPv6Option(_ entry: SocketEntry, _ name: Int32, _ option: OptionValue) throws(SocketError) {
        guard entry.family == AF_INET6 else {
            throw SocketError(.protocolNotAvailable, "level IPPROTO_IPV6 on an AF_INET socket")
        }
        switch name {
        case IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP:
            return try setMembership(entry, name, option)
        case IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP:
            return try setMulticastSendOption(entry, name, option)
        default:
            break
        }
        let value = try option.int()
        switch name {
        case IPV6_V6ONLY:
            guard entry.local == nil else {
                throw SocketError(.invalidArgument, "IPV6_V6ONLY after bind: set it before bind, listen or connect")
            }
            entry.v6Only = value != 0
        case IPV6_UNICAST_HOPS:
            guard value == -1 || (0...255).contains(value) else {
                throw SocketError(.invalidArgument, "IPV6_UNICAST_HOPS \(value): use 0...255 (or -1 for the default 64)")
            }
            entry.options.timeToLive = value == -1 ? 64 : UInt8(value)
        default:
            throw SocketError(.protocolNotAvailable, "option \(name) at level IPPROTO_IPV6 is not supported (IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_*, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP are)")
        }
    }

    func getIPv6Option(_ entry: SocketEntry, _ name: Int32) throws(SocketError) -> Int32 {
        guard entry.family == AF_INET6 else {
            throw SocketError(.protocolNotAvailable, "level IPPROTO_IPV6 on an AF_INET socket")
        }
        switch name {
        case IPV6_V6ONLY: return entry.v6Only ? 1 : 0
        case IPV6_UNICAST_HOPS: return Int32(entry.options.timeToLive)
        case IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP: return try getMulticastSendOption(entry, name)
        default:
            throw SocketError(.protocolNotAvailable, "option \(name) at level IPPROTO_IPV6 is not supported (IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_* are)")
        }
    }
}
