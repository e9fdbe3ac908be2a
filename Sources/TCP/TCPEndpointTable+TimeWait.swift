import Wire

/// Active opens and the 4-tuples they may take: ephemeral ports (RFC 6056)
/// and reuse of TIME-WAIT entries (RFC 6191), and segments that arrive for
/// a 4-tuple in TIME-WAIT.
extension TCPEndpointTable {
    // MARK: Active open, ephemeral ports

    /// Active open from `localAddress` (port chosen from the ephemeral range
    /// unless given) to `remote`.
    public func connect(from localAddress: IPv4Address, port: UInt16? = nil, to remote: TCPEndpoint,
                        options: TCPConnectionOptions? = nil,
                        now: TCPInstant) throws(TCPCallError) -> TCPConnectionID {
        try connect(from: IPv6Address(ipv4Mapped: localAddress), port: port, to: remote, options: options, now: now)
    }

    /// As above from an address of either family (IPv4 v4-mapped).
    public func connect(from localAddress: IPv6Address, port: UInt16? = nil, to remote: TCPEndpoint,
                        options: TCPConnectionOptions? = nil,
                        now: TCPInstant) throws(TCPCallError) -> TCPConnectionID {
        let options = options ?? configuration.defaultConnectionOptions
        let localPort: UInt16
        var reused: TCPTimeWaitTable.Entry? = nil
        if let port {
            let tuple = TCPFourTuple(local: TCPEndpoint(address: localAddress, port: port), remote: remote)
            guard byTuple[tuple] == nil else { throw .addressInUse(tuple.local) }
            if let entry = timeWait[tuple] {
                guard isReusable(entry, now: now) else { throw .addressInUse(tuple.local) }
                reused = entry
            }
            localPort = port
        } else {
            (localPort, reused) = try ephemeralPort(from: localAddress, to: remote, now: now)
        }
        let local = TCPEndpoint(address: localAddress, port: localPort)
        let connection = TCPConnection(shared: connectionShared, options: options, local: local,
                                       remote: remote, chunkCache: chunkCache)
        try connection.connect(to: remote, now: now)
        if let reused {
            // Our own TIME-WAIT reused for an active open (like Linux's
            // tcp_tw_reuse): timestamps keep old duplicates out (PAWS at the
            // peer), and the new ISS lies beyond the old sequence space.
            timeWait.remove(reused.tuple)
            statistics.timeWaitReused += 1
            connection.raiseInitialSequence(above: reused.sendNext)
        }
        let slot = insert(connection)
        statistics.connectionsOpened += 1
        markDirty(slot)
        return id(of: slot)
    }

    /// RFC 6056 algorithm 3: a keyed-hash offset per destination plus a
    /// counter, the first candidate whose 4-tuple is free wins.
    /// A free port first; when a candidate's 4-tuple is in a TIME-WAIT entry
    /// that may be reused (RFC 6191 conditions), only a few more candidates
    /// are tried for a free one before it is taken. Ports are handed out in
    /// counter order, so once the whole range sits in TIME-WAIT the candidate
    /// at the counter is the oldest entry: the search stays short instead of
    /// scanning the whole range on every connect.
    func ephemeralPort(from localAddress: IPv6Address, to remote: TCPEndpoint,
                       now: TCPInstant) throws(TCPCallError) -> (UInt16, TCPTimeWaitTable.Entry?) {
        let range = configuration.ephemeralPorts
        let size = UInt32(range.upperBound - range.lowerBound) + 1
        let offset = UInt32(truncatingIfNeeded: portKey.hash(
            (localAddress.high, localAddress.low, remote.address.high, remote.address.low, UInt64(remote.port)), 0))
        var reusable: (entry: TCPTimeWaitTable.Entry, attempt: UInt32)? = nil
        for attempt in 0..<size {
            if let found = reusable, attempt - found.attempt > Self.freePortLookahead { break }
            statistics.ephemeralPortProbes += 1
            let candidate = UInt16(UInt32(range.lowerBound) + (offset &+ ephemeralCounter &+ attempt) % size)
            let tuple = TCPFourTuple(local: TCPEndpoint(address: localAddress, port: candidate), remote: remote)
            if byTuple[tuple] != nil { continue }
            if listenerIndex(for: tuple.local) != nil { continue }
            if let entry = timeWait[tuple] {
                if reusable == nil && isReusable(entry, now: now) { reusable = (entry, attempt) }
                continue
            }
            ephemeralCounter &+= attempt + 1
            return (candidate, nil)
        }
        if let found = reusable {
            ephemeralCounter &+= found.attempt + 1
            return (found.entry.tuple.local.port, found.entry)
        }
        throw .noEphemeralPort
    }

    /// Candidates tried for a free port after a reusable TIME-WAIT entry was found.
    static let freePortLookahead: UInt32 = 8

    /// A TIME-WAIT entry of ours may be reused after one second when the
    /// connection used timestamps.
    func isReusable(_ entry: TCPTimeWaitTable.Entry, now: TCPInstant) -> Bool {
        guard entry.timestampsEnabled else { return false }
        let enteredAt = entry.expires.microseconds - (configuration.maximumSegmentLifetime * 2).microseconds
        return now.microseconds >= enteredAt + 1_000_000
    }

    // MARK: Segments in TIME-WAIT

    /// TIME-WAIT (RFC 9293 3.10.7.4 for TIME-WAIT, RFC 1337, RFC 6191).
    /// Returns the old SND.NXT when a SYN may reopen the 4-tuple.
    func handleInTimeWait(_ entry: TCPTimeWaitTable.Entry, segment: TCPRepr, payloadLength: Int,
                          now: TCPInstant) -> TCPSequenceNumber? {
        let flags = segment.flags
        if flags.contains(.rst) { return nil }  // RFC 1337
        if flags.contains(.syn) && !flags.contains(.ack) {
            // RFC 6191: a newer timestamp (or, without timestamps, a higher
            // sequence number) proves the SYN is no old duplicate.
            let newer: Bool
            if entry.timestampsEnabled, let stamp = segment.options.timestamp {
                newer = Int32(bitPattern: stamp.value &- entry.timestampRecent) > 0
            } else {
                newer = entry.receiveNext < TCPSequenceNumber(segment.sequenceNumber)
            }
            if newer {
                timeWait.remove(entry.tuple)
                statistics.timeWaitReused += 1
                return entry.sendNext
            }
        }
        if flags.contains(.fin) || !flags.contains(.ack) || TCPSequenceNumber(segment.sequenceNumber) != entry.receiveNext
            || payloadLength > 0 {
            // Re-acknowledge (a retransmitted FIN, or anything unexpected).
            let length = payloadLength + 1
            if flags.contains(.fin) && TCPSequenceNumber(segment.sequenceNumber) + length == entry.receiveNext {
                timeWait.restart(entry.tuple, expires: now + configuration.maximumSegmentLifetime * 2)
            }
            var options = TCPOptions()
            if entry.timestampsEnabled {
                options.timestamp = (now.milliseconds32 &+ entry.timestampOffset, entry.timestampRecent)
            }
            let repr = TCPRepr(sourcePort: entry.tuple.local.port, destinationPort: entry.tuple.remote.port,
                               sequenceNumber: entry.sendNext.rawValue, acknowledgmentNumber: entry.receiveNext.rawValue,
                               flags: [.ack], window: entry.window, options: options)
            statistics.timeWaitACKs += 1
            queueControl(TCPOutgoingSegment(repr: repr, source: entry.tuple.local.address,
                                            destination: entry.tuple.remote.address))
        }
        return nil
    }
}
