import Glibc
import Platform
import Stack
import SystemPackage
import Wire

extension SocketCore {
    /// connect(): TCP opens a connection (blocking until established, or
    /// EINPROGRESS when non-blocking); UDP sets the default peer and
    /// filters received datagrams to it (`.unspecified` dissolves it).
    public func connect(_ descriptor: Int32, to address: ConnectAddress) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        if case .inet6(let peer) = address {
            guard entry.family == AF_INET6 else {
                throw SocketError(.addressFamilyNotSupported, "an AF_INET6 address for an AF_INET socket: make the socket with AF_INET6")
            }
            if entry.kind == .datagram {
                try connectDatagram6(slot, entry, to: peer)
            } else {
                try connectStream6(slot, entry, to: peer)
            }
            return
        }
        if case .inet(let peer) = address, entry.family == AF_INET6, entry.kind == .datagram {
            // Linux's ip6_datagram_connect takes a sockaddr_in on a dual-stack socket.
            guard !entry.v6Only else {
                throw SocketError(.addressFamilyNotSupported, "an AF_INET address for an IPV6_V6ONLY socket")
            }
            try connectDatagram6(slot, entry, to: IPv6SocketAddress(IPv6Address(ipv4Mapped: peer.address), peer.port))
            return
        }
        if case .inet(let peer) = address, entry.family == AF_INET6 {
            throw SocketError(.addressFamilyNotSupported, "an AF_INET address for an AF_INET6 socket: give ::ffff:\(peer.address) in a sockaddr_in6")
        }
        switch entry.kind {
        case .datagram: try connectDatagram(slot, entry, to: address)
        case .stream: try connectStream(slot, entry, to: address)
        }
    }

    private func connectDatagram(_ slot: Int, _ entry: SocketEntry, to address: ConnectAddress) throws(SocketError) {
        guard case .inet(let peer) = address else {
            disconnectDatagram(entry)
            return
        }
        if stack.isBroadcast(peer.address) && !entry.options.broadcast {
            throw SocketError(.permissionDenied, "\(peer.address) is a broadcast address: set SO_BROADCAST first")
        }
        guard stack.sourceAddress(toward: peer.address, from: entry.local?.address ?? .any) != nil else {
            throw SocketError(.networkUnreachable, "no route to \(peer.address): it is on no interface's subnet and there is no gateway")
        }
        try autobind(slot, entry)
        do {
            try stack.udpConnect(entry.udp!, to: peer.address, port: peer.port)
        } catch {
            throw SocketError(error.kind == .networkUnreachable ? .networkUnreachable : .invalidArgument, error.description)
        }
        entry.remote = peer
        // Datagrams from others that were queued before the connect go.
        filterQueued(entry)
    }

    func connectStream(_ slot: Int, _ entry: SocketEntry, to address: ConnectAddress) throws(SocketError) {
        guard case .inet(let peer) = address else {
            throw SocketError(.addressFamilyNotSupported, "AF_UNSPEC on a SOCK_STREAM socket: give an AF_INET address")
        }
        try prepareStreamConnect(entry, peer: peer.description)
        if stack.isBroadcast(peer.address) {
            if !entry.options.broadcast {
                throw SocketError(.permissionDenied, "\(peer.address) is a broadcast address: TCP cannot connect there (and SO_BROADCAST is off)")
            }
            throw SocketError(.networkUnreachable, "\(peer.address) is a broadcast address: TCP is unicast only")
        }
        let bound = entry.local?.address ?? .any
        guard let source = stack.sourceAddress(toward: peer.address, from: bound) else {
            throw SocketError(.networkUnreachable, "no route to \(peer.address): it is on no interface's subnet and there is no gateway")
        }
        try openStream(slot, entry, from: IPv6Address(ipv4Mapped: source), to: IPv6Address(ipv4Mapped: peer.address),
                       port: peer.port, remote: peer, peer: peer.description)
    }

    /// Sends the SYN from `source` (either family at IPv6 width, IPv4
    /// v4-mapped) and completes the connect as the socket's mode says.
    func openStream(_ slot: Int, _ entry: SocketEntry, from source: IPv6Address, to address: IPv6Address, port: UInt16,
                    remote: IPv4SocketAddress, peer: String) throws(SocketError) {
        let id: TCPStreamHandle
        let opened: TCPStreamStatus
        do {
            (id, opened) = try stack.tcpConnect(from: source, port: entry.local?.port, to: address, port: port,
                                                options: entry.options.tcp)
        } catch {
            throw Self.connectError(error, peer: peer)
        }
        entry.remote = remote
        try completeStreamConnect(slot, entry, id, opened, peer: peer)
    }

    /// Before a stream connect: refused on a listener or a connect under
    /// way; a failed earlier attempt is released so the socket starts over.
    func prepareStreamConnect(_ entry: SocketEntry, peer: String) throws(SocketError) {
        if entry.listener != nil {
            throw SocketError(.socketIsConnected, "the socket is listening; connect needs a new socket")
        }
        guard let id = entry.connection else { return }
        if entry.connecting {
            throw SocketError(.alreadyInProcess, "a connect to \(entry.remote?.description ?? peer) is still in progress: wait for writability and read SO_ERROR")
        }
        if let status = stack.tcpStatus(id), status.state.phase != .closed, !entry.connectionEnded {
            if entry.pendingError == nil {
                throw SocketError(.socketIsConnected, "the socket is already connected to \(entry.remote?.description ?? peer)")
            }
        }
        // The last attempt failed: start over on the same socket.
        byConnection[id] = nil
        stack.tcpRelease(id)
        entry.connection = nil
        entry.connectionEnded = false
        entry.pendingError = nil
    }

    static func connectError(_ error: TCPOpenError, peer: String) -> SocketError {
        switch error {
        case .noEphemeralPort:
            return SocketError(.resourceTemporarilyUnavailable, "no free local port toward \(peer): \(error.description)")
        case .addressInUse:
            return SocketError(.addressInUse, error.description)
        case .refused:
            return SocketError(.invalidArgument, error.description)
        }
    }

    /// After the SYN went out: EINPROGRESS when non-blocking, else waits for
    /// the handshake (SO_SNDTIMEO bounds it) and reports its failure.
    func completeStreamConnect(_ slot: Int, _ entry: SocketEntry, _ id: TCPStreamHandle, _ opened: TCPStreamStatus,
                               peer: String) throws(SocketError) {
        entry.connection = id
        byConnection[id] = slot
        if entry.local == nil {
            entry.local = IPv4SocketAddress(opened.localAddress, opened.localPort)
        }
        if entry.family == AF_INET6 { setAddresses6(entry, opened) }
        entry.connecting = true
        if entry.nonBlocking {
            throw SocketError(.nowInProgress, "connecting to \(peer): poll for writability, then read SO_ERROR")
        }
        do {
            try block(timeoutNanoseconds: entry.options.sendTimeout, "connect to \(peer)") { () throws(SocketError) -> Bool in
                guard let status = stack.tcpStatus(id) else { return true }
                return status.state.phase != .opening
            }
        } catch {
            // Timed out (SO_SNDTIMEO) or interrupted: the handshake goes on.
            if error.errno == .resourceTemporarilyUnavailable {
                throw SocketError(.nowInProgress, "connect to \(peer) did not complete within SO_SNDTIMEO; it goes on: poll for writability")
            }
            throw error
        }
        entry.connecting = false
        if let failure = takeConnectionError(entry) { throw failure }
    }

    /// The error of a failed connection, reported once (then reads give 0, writes EPIPE).
    func takeConnectionError(_ entry: SocketEntry) -> SocketError? {
        guard let id = entry.connection else { return nil }
        let error = entry.pendingError ?? stack.tcpStatus(id)?.failure.map(Self.errno(for:))
        guard let error, !entry.connectionEnded else { return nil }
        entry.pendingError = nil
        entry.connectionEnded = true
        switch error {
        case .connectionRefused:
            return SocketError(error, "connection refused by \(entry.remote.map(\.description) ?? "the peer"): nothing listens there")
        case .timedOut:
            return SocketError(error, "connection to \(entry.remote.map(\.description) ?? "the peer") timed out: no answer to retransmissions")
        case .noRouteToHost:
            return SocketError(error, "no route to host \(entry.remote.map(\.description) ?? "the peer"): the next hop did not answer ARP")
        default:
            return SocketError(error, "connection reset by \(entry.remote.map(\.description) ?? "the peer")")
        }
    }

    /// accept(): the next established connection of a listening socket, as a
    /// new blocking socket of this core, and the peer's address.
    public func accept(_ descriptor: Int32) throws(SocketError) -> (descriptor: Int32, peer: IPv4SocketAddress) {
        let (_, entry) = try entry(descriptor)
        guard entry.kind == .stream else {
            throw SocketError(.notSupportedOnSocket, "accept on a SOCK_DGRAM socket: only SOCK_STREAM sockets accept")
        }
        guard let listener = entry.listener else {
            throw SocketError(.invalidArgument, "the socket is not listening: call listen first")
        }
        let ready = { () -> Bool in self.stack.tcpAcceptQueueLength(listener) > 0 }
        if !ready() {
            if entry.nonBlocking {
                throw SocketError(.resourceTemporarilyUnavailable, "no connection is waiting to be accepted")
            }
            try block(timeoutNanoseconds: entry.options.receiveTimeout, "accept") { () throws(SocketError) -> Bool in
                guard let slot = SocketDescriptor.decode(descriptor)?.slot, slots.indices.contains(slot), slots[slot] === entry else {
                    throw SocketError(.badFileDescriptor, "the listening socket was closed while accept waited")
                }
                return ready()
            }
        }
        // Limits first, so a refused accept leaves the connection queued.
        var options = entry.options
        options.receiveTimeout = entry.options.receiveTimeout
        let child = SocketEntry(kind: .stream, nonBlocking: false, options: options)
        let slot = try allocate(child)
        guard let (id, status) = stack.tcpAccept(listener) else {
            closeSlot(slot)
            throw SocketError(.resourceTemporarilyUnavailable, "the waiting connection went away before accept took it")
        }
        child.connection = id
        child.local = IPv4SocketAddress(status.localAddress, status.localPort)
        child.remote = IPv4SocketAddress(status.remoteAddress, status.remotePort)
        if entry.family == AF_INET6 {
            child.family = AF_INET6
            child.v6Only = entry.v6Only
            setAddresses6(child, status)
        }
        byConnection[id] = slot
        return (self.descriptor(slot), child.remote!)
    }
}
