import Wire

/// Segments in: the 4-tuple picks a connection, else a TIME-WAIT entry,
/// else a listener, else the port is closed.
extension TCPEndpointTable {
    // MARK: Segments in

    /// A segment of ours could not be delivered (the next hop never answered
    /// ARP): a connection still in SYN-SENT fails with `error`, as Linux's
    /// tcp_v4_err ends one on a host unreachable; later states ignore it
    /// (a soft error: retransmission goes on). True when one failed.
    @discardableResult
    public func failConnecting(local: TCPEndpoint, remote: TCPEndpoint, error: TCPConnectionError) -> Bool {
        guard let slot = byTuple[TCPFourTuple(local: local, remote: remote)], let connection = slots[Int(slot)],
              connection.state == .synSent else { return false }
        connection.enterClosed(error: error)
        markDirty(slot)
        return true
    }

    /// A TCP segment for one of our addresses (checksum already verified).
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv6Address,
                       destination: IPv6Address, now: TCPInstant) {
        _ = handle(segment: segment, payload: TCPPayload(payload), source: source, destination: destination, now: now, lending: nil)
    }

    /// An IPv4 segment (its addresses v4-mapped).
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv4Address,
                       destination: IPv4Address, now: TCPInstant) {
        handle(segment: segment, payload: payload, source: IPv6Address(ipv4Mapped: source),
               destination: IPv6Address(ipv4Mapped: destination), now: now)
    }

    /// The listener a segment to `local` goes to: the exact endpoint, else
    /// the wildcard of its family, else (IPv4) a dual-stack :: listener
    /// that is not IPv6-only (RFC 3493 §5.3).
    func listenerIndex(for local: TCPEndpoint) -> Int32? {
        if let index = listenerByEndpoint[local] { return index }
        let wildcard = local.wildcard
        if let index = listenerByEndpoint[wildcard] { return index }
        guard local.isIPv4, let index = listenerByEndpoint[TCPEndpoint(address: .unspecified, port: local.port)],
              listeners[Int(index)]?.v6Only == false else { return nil }
        return index
    }

    /// As above, for a payload in one region or several (a packet chain,
    /// segments the stack coalesced); `segment` is the first one's header.
    /// `lending`, when given, is the packet buffer holding a one-region
    /// payload, which a connection's receive ring may keep instead of
    /// copying it (`TCPConfiguration.receiveLending`); returns true when it
    /// did (its `release` is called later), false when the buffer is still
    /// the caller's.
    @discardableResult
    public func handle(segment: TCPRepr, payload: TCPPayload, source: IPv6Address,
                       destination: IPv6Address, now: TCPInstant, lending: TCPBorrowedBytes? = nil) -> Bool {
        statistics.segmentsReceived += payload.segmentCount
        let tuple = TCPFourTuple(local: TCPEndpoint(address: destination, port: segment.destinationPort),
                                 remote: TCPEndpoint(address: source, port: segment.sourcePort))
        if let slot = byTuple[tuple], let connection = slots[Int(slot)] {
            if completesCookieOverHalfOpen(slot, connection, tuple: tuple, segment: segment, payload: payload, now: now)
                || holdsChildForFullAcceptQueue(slot, connection, segment: segment) {
                return false
            }
            connection.lentPayload = configuration.receiveLending ? lending : nil
            connection.handle(segment: segment, payload: payload, source: source, destination: destination, now: now)
            let taken = connection.lentPayloadTaken
            connection.lentPayload = nil
            connection.lentPayloadTaken = false
            markDirty(slot)
            return taken
        }
        var reuseAbove: TCPSequenceNumber? = nil
        if let entry = timeWait[tuple] {
            guard let reuse = handleInTimeWait(entry, segment: segment, payloadLength: payload.count, now: now) else { return false }
            reuseAbove = reuse
        }
        if let index = listenerIndex(for: tuple.local) {
            handleForListener(Int(index), tuple: tuple, segment: segment, payload: payload, reuseAbove: reuseAbove, now: now)
            return false
        }
        statistics.resetsForClosedPorts += segment.flags.contains(.rst) ? 0 : 1
        queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count, source: source, destination: destination))
        return false
    }
}
