import Glibc
import Stack
import SystemPackage
import Wire

/// AF_INET6 datagram sockets (RFC 3493): UDP over IPv6 through NetStack's
/// IPv6-wide UDP calls, and on a dual-stack socket (IPV6_V6ONLY off) IPv4
/// peers as v4-mapped ::ffff:a.b.c.d. Errnos as Linux's udpv6_sendmsg and
/// ip6_datagram_connect give them.
extension SocketCore {
    /// Where a datagram goes: `.v4` for an IPv4 peer (given as sockaddr_in,
    /// or v4-mapped on a dual-stack socket), `.v6` for an IPv6 one.
    func datagramTarget(_ entry: SocketEntry, _ chosen: InternetSocketAddress) throws(SocketError) -> InternetSocketAddress {
        switch chosen {
        case .v4(let v4):
            guard entry.family == AF_INET6 else { return chosen }
            try checkIPv4Reachable(entry, v4.address)
            return chosen
        case .v6(let v6):
            guard entry.family == AF_INET6 else {
                throw SocketError(.addressFamilyNotSupported, "an AF_INET6 address for an AF_INET socket: make the socket with AF_INET6")
            }
            guard let v4 = v6.address.ipv4Mapped else { return chosen }
            try checkIPv4Reachable(entry, v4)
            return .v4(IPv4SocketAddress(v4, v6.port))
        }
    }

    /// An AF_INET6 socket reaches IPv4 peers only when dual-stack and not
    /// bound to an IPv6 address (ENETUNREACH, as Linux).
    private func checkIPv4Reachable(_ entry: SocketEntry, _ peer: IPv4Address) throws(SocketError) {
        guard !entry.v6Only else {
            throw SocketError(.networkUnreachable, "\(peer) is an IPv4 peer and the socket is IPV6_V6ONLY")
        }
        if let bound = entry.local6?.address, !bound.isUnspecified, !bound.isIPv4Mapped {
            throw SocketError(.networkUnreachable, "bound to IPv6 address \(bound): it cannot reach IPv4 peer \(peer)")
        }
    }

    /// sendto of an AF_INET6 socket to an IPv6 peer.
    func sendDatagram6(_ slot: Int, _ entry: SocketEntry, _ bytes: UnsafeRawBufferPointer, flags: MessageFlags,
                       to peer: IPv6SocketAddress) throws(SocketError) -> Int {
        guard !peer.address.isUnspecified else {
            throw SocketError(.networkUnreachable, "\(peer.address) is not a destination address")
        }
        guard peer.port != 0 else { throw SocketError(.invalidArgument, "destination port 0") }
        if peer.address.isLinkLocal { try checkScope(peer.scopeID, for: peer.address) }
        if let bound = entry.local6?.address, bound.isIPv4Mapped {
            throw SocketError(.networkUnreachable, "bound to v4-mapped \(bound): it cannot reach IPv6 peer \(peer.address)")
        }
        try prepareDatagramSend(slot, entry, size: bytes.count)
        do {
            try stack.udpSend(entry.udp!, bytes: bytes, to: (peer.address, peer.port), hopLimit: entry.options.timeToLive,
                              multicast: entry.multicast)
        } catch {
            throw Self.sendError(error)
        }
        stack.flush()
        return bytes.count
    }

    /// connect() of an AF_INET6 datagram socket: sets the default peer and
    /// filters received datagrams to it (a v4-mapped peer: over IPv4).
    func connectDatagram6(_ slot: Int, _ entry: SocketEntry, to peer: IPv6SocketAddress) throws(SocketError) {
        if let v4 = peer.address.ipv4Mapped {
            try checkIPv4Reachable(entry, v4)
            if stack.isBroadcast(v4) && !entry.options.broadcast {
                throw SocketError(.permissionDenied, "\(v4) is a broadcast address: set SO_BROADCAST first")
            }
            guard stack.sourceAddress(toward: v4, from: entry.local?.address ?? .any) != nil else {
                throw SocketError(.networkUnreachable, "no route to \(v4): it is on no interface's subnet and there is no gateway")
            }
        } else {
            guard !peer.address.isUnspecified, !peer.address.isMulticast else {
                throw SocketError(.networkUnreachable, "\(peer.address) is not a unicast address: connect to a unicast peer")
            }
            if peer.address.isLinkLocal { try checkScope(peer.scopeID, for: peer.address) }
            let bound = entry.local6?.address ?? .unspecified
            if bound.isIPv4Mapped {
                throw SocketError(.networkUnreachable, "bound to v4-mapped \(bound): it cannot reach IPv6 peer \(peer.address)")
            }
            guard stack.ipv6SourceAddress(toward: peer.address, from: bound) != nil else {
                throw SocketError(.networkUnreachable, "no IPv6 route to \(peer.address): add an address on its prefix or accept a router")
            }
        }
        try autobind(slot, entry)
        do {
            try stack.udpConnect(entry.udp!, to: peer.address, port: peer.port)
        } catch {
            throw SocketError(error.kind == .networkUnreachable ? .networkUnreachable : .invalidArgument, error.description)
        }
        entry.remote = IPv4SocketAddress(peer.address.ipv4Mapped ?? .any, peer.port)
        entry.remote6 = IPv6SocketAddress(peer.address, peer.port, scopeID: peer.address.isLinkLocal ? peer.scopeID : 0)
        filterQueued(entry)
    }

    /// Dissolves a datagram socket's association (connect with AF_UNSPEC).
    func disconnectDatagram(_ entry: SocketEntry) {
        if let udp = entry.udp { try? stack.udpConnect(udp, to: IPv6Address.unspecified, port: 0) }
        entry.remote = nil
        entry.remote6 = nil
    }

    /// The datagram's source at IPv6 width (IPv4 sources v4-mapped).
    private static func source6(_ datagram: ReceivedDatagram) -> IPv6Address {
        datagram.sourceIPv6 ?? IPv6Address(ipv4Mapped: datagram.source)
    }

    /// True when a datagram comes from the connected peer.
    func isFromPeer(_ entry: SocketEntry, _ datagram: ReceivedDatagram) -> Bool {
        if entry.family == AF_INET6, let peer = entry.remote6 {
            return Self.source6(datagram) == peer.address && datagram.sourcePort == peer.port
        }
        guard let peer = entry.remote else { return true }
        return datagram.sourceIPv6 == nil && datagram.source == peer.address && datagram.sourcePort == peer.port
    }

    /// recvfrom's address in the socket's family (link-local sources with
    /// the receiving interface as scope id).
    func sourceName(_ entry: SocketEntry, _ datagram: ReceivedDatagram) -> InternetSocketAddress {
        guard entry.family == AF_INET6 else { return .v4(IPv4SocketAddress(datagram.source, datagram.sourcePort)) }
        let address = Self.source6(datagram)
        return .v6(IPv6SocketAddress(address, datagram.sourcePort, scopeID: address.isLinkLocal ? datagram.scopeID : 0))
    }

    /// getsockname() of an AF_INET6 datagram socket: the stack's binding
    /// (after connect, the source address chosen toward the peer).
    func datagramName6(_ entry: SocketEntry) -> IPv6SocketAddress {
        guard let udp = entry.udp, let ends = try? stack.udpAddresses6(udp) else { return entry.local6 ?? .unspecified }
        let scope = ends.localAddress.isLinkLocal ? max(entry.local6?.scopeID ?? 0, entry.remote6?.scopeID ?? 0) : 0
        return IPv6SocketAddress(ends.localAddress, ends.localPort, scopeID: scope)
    }
}
