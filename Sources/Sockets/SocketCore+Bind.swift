import Glibc
import Stack
import SystemPackage
import Wire

extension SocketCore {
    /// bind(): port 0 takes an ephemeral port, 0.0.0.0 every interface.
    public func bind(_ descriptor: Int32, to address: IPv4SocketAddress) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        guard entry.family == AF_INET else {
            throw SocketError(.addressFamilyNotSupported, "an AF_INET address for an AF_INET6 socket: give a sockaddr_in6 (::ffff:\(address.address) for IPv4)")
        }
        guard entry.local == nil, entry.connection == nil else {
            throw SocketError(.invalidArgument, "the socket is already bound to \(entry.local ?? .any): make a new socket to bind again")
        }
        try bindEntry(slot, entry, to: address)
    }

    /// `address` is the IPv4 view (an AF_INET6 socket's v4-mapped address,
    /// else 0.0.0.0); an AF_INET6 socket claims its port and binds its UDP
    /// endpoint at full width (`address6`, :: when nil), an AF_INET one to
    /// IPv4 only.
    func bindEntry(_ slot: Int, _ entry: SocketEntry, to address: IPv4SocketAddress, address6: IPv6Address? = nil) throws(SocketError) {
        if !address.address.isUnspecified && !stack.isLocalAddress(address.address) {
            throw SocketError(.addressNotAvailable, "\(address.address) is not an address of this core's interfaces \(stack.interfaceAddresses): bind to one of them or to 0.0.0.0")
        }
        if address.port != 0 && address.port < 1024 && !privileged {
            throw SocketError(.permissionDenied, "port \(address.port) is privileged (< 1024): it needs CAP_NET_BIND_SERVICE (or SocketCoreConfiguration.privilegedPorts = .allowed)")
        }
        let stream = entry.kind == .stream
        // The claim at IPv6 width: an AF_INET6 socket's own address (:: when
        // unbound), an AF_INET one's v4-mapped.
        let wide = entry.family == AF_INET6 ? address6 ?? .unspecified : IPv6Address(ipv4Mapped: address.address)
        var claim = SocketGroup.PortClaim(core: coreID, slot: slot, address: wide, v6Only: entry.v6Only,
                                          reuseAddress: entry.options.reuseAddress, reusePort: entry.options.reusePort,
                                          listening: false)
        var port = address.port
        if port == 0 {
            let range = stack.tcpEphemeralPorts
            var found = false
            for _ in 0..<range.count {
                let candidate = nextEphemeralPort
                nextEphemeralPort = candidate >= range.upperBound ? range.lowerBound : candidate + 1
                claim.reuseAddress = false
                claim.reusePort = false
                if group.claim(stream: stream, port: candidate, claim) {
                    port = candidate
                    found = true
                    break
                }
            }
            guard found else {
                throw SocketError(.addressInUse, "no free ephemeral port in \(range)")
            }
        } else if !group.claim(stream: stream, port: port, claim) {
            throw SocketError(.addressInUse, "\(stream ? "TCP" : "UDP") port \(port) is already bound by another socket: close it, or set SO_REUSEADDR / SO_REUSEPORT on both")
        }
        if !stream {
            // The group has applied Linux's reuse rules; the core's table lets
            // reusing sockets share the address (multicast reaches them all).
            let shared = claim.reuseAddress || claim.reusePort
            do {
                entry.udp = entry.family == AF_INET6
                    ? try stack.udpBind(address6: address6 ?? .unspecified, port: port, v6Only: entry.v6Only, shared: shared)
                    : try stack.udpBind(address: address.address, port: port, ipv4Only: true, shared: shared)
            } catch {
                group.release(stream: false, port: port, core: coreID, slot: slot)
                // The core's UDP endpoints at their limit is EMFILE (Docs/SOCKETS.md "Limits").
                if error.kind == StackError.Kind.tooManyEndpoints {
                    throw SocketError(.tooManyOpenFiles, "\(error.description) (--max-udp-endpoints)")
                }
                throw SocketError(error.kind == StackError.Kind.addressInUse ? .addressInUse : .addressNotAvailable,
                                  "\(error.description) (UDP sockets of one core cannot share a port; SO_REUSEPORT shares it between cores)")
            }
        }
        entry.claimedPort = port
        entry.local = IPv4SocketAddress(address.address, port)
    }

    /// Binds an unbound socket to an ephemeral port (before sendto, connect, listen).
    func autobind(_ slot: Int, _ entry: SocketEntry) throws(SocketError) {
        guard entry.local == nil else { return }
        try bindEntry(slot, entry, to: .any)
        if entry.family == AF_INET6 { entry.local6 = IPv6SocketAddress(.unspecified, entry.local!.port) }
    }

    /// getsockname(): the bound address (0.0.0.0:0 when unbound).
    public func localAddress(_ descriptor: Int32) throws(SocketError) -> IPv4SocketAddress {
        let (_, entry) = try entry(descriptor)
        if let id = entry.connection, let status = stack.tcpStatus(id) {
            return IPv4SocketAddress(status.localAddress, status.localPort)
        }
        if let udp = entry.udp, let addresses = try? stack.udpAddresses(udp) {
            return IPv4SocketAddress(addresses.localAddress, addresses.localPort)
        }
        return entry.local ?? .any
    }

    /// getpeername(): the connected peer (ENOTCONN when there is none).
    public func peerAddress(_ descriptor: Int32) throws(SocketError) -> IPv4SocketAddress {
        let (_, entry) = try entry(descriptor)
        guard let remote = entry.remote, !entry.connecting, entry.connection != nil || entry.kind == .datagram,
              !entry.connectionEnded else {
            throw SocketError(.socketNotConnected, "the socket is not connected: connect (or accept) first")
        }
        return remote
    }

    /// fcntl(F_GETFL/F_SETFL) for O_NONBLOCK.
    public func isNonBlocking(_ descriptor: Int32) throws(SocketError) -> Bool {
        try entry(descriptor).entry.nonBlocking
    }

    public func setNonBlocking(_ descriptor: Int32, _ on: Bool) throws(SocketError) {
        try entry(descriptor).entry.nonBlocking = on
    }

    /// listen(): TCP only; binds an ephemeral port when unbound.
    public func listen(_ descriptor: Int32, backlog: Int) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        guard entry.kind == .stream else {
            throw SocketError(.notSupportedOnSocket, "listen on a SOCK_DGRAM socket: only SOCK_STREAM sockets listen")
        }
        guard entry.connection == nil else {
            throw SocketError(.invalidArgument, "the socket is connected; listen needs an unconnected socket")
        }
        if entry.listener != nil { return }  // listening already; the backlog stays as first given
        try autobind(slot, entry)
        let local = entry.local!
        guard group.listen(stream: true, port: local.port, core: coreID, slot: slot) else {
            throw SocketError(.addressInUse, "another socket already listens on port \(local.port): close it, or set SO_REUSEPORT on both (one listener per core)")
        }
        do {
            let backlog = min(max(backlog, 1), configuration.maximumBacklog)
            let id = entry.family == AF_INET6
                ? try stack.tcpListen(address: entry.local6?.address ?? .unspecified, port: local.port, backlog: backlog,
                                      options: entry.options.tcp, v6Only: entry.v6Only)
                : try stack.tcpListen(address: local.address, port: local.port, backlog: backlog, options: entry.options.tcp)
            entry.listener = id
            byListener[id] = slot
        } catch {
            throw SocketError(.addressInUse, "another socket on this core already listens on \(local): SO_REUSEPORT spreads listeners over cores, not within one")
        }
    }
}

extension SocketCore {
    /// The TCP connection behind a descriptor (for tools and tests that
    /// look at the state machine).
    public func connectionID(of descriptor: Int32) throws(SocketError) -> TCPStreamHandle? {
        try entry(descriptor).entry.connection
    }
}
