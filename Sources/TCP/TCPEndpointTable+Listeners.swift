import Wire

/// Listeners: listen, accept and close; SYNs for a listening endpoint,
/// the SYN backlog, and SYN cookies when it is full.
extension TCPEndpointTable {
    // MARK: Calls from the socket layer: listeners

    /// Opens a listener. `backlog` bounds the accept queue; `synBacklog`
    /// the half-open children (defaults to the same). A listener on ::
    /// takes IPv4 connections too unless `v6Only` (RFC 3493 §5.3).
    public func listen(on local: TCPEndpoint, backlog: Int, synBacklog: Int? = nil,
                       options: TCPConnectionOptions? = nil, v6Only: Bool = false) throws(TCPCallError) -> TCPListenerID {
        guard listenerByEndpoint[local] == nil else { throw .addressInUse(local) }
        let options = options ?? configuration.defaultConnectionOptions
        let index = listeners.firstIndex { $0 == nil } ?? listeners.count
        let generation = UInt32(truncatingIfNeeded: index &* 7919) &+ ephemeralCounter
        ephemeralCounter &+= 1
        var listener = TCPListener(local: local, options: options, synBacklog: max(synBacklog ?? backlog, 1),
                                   acceptBacklog: max(backlog, 1), generation: generation)
        listener.v6Only = v6Only
        if index == listeners.count { listeners.append(listener) } else { listeners[index] = listener }
        listenerByEndpoint[local] = Int32(index)
        return TCPListenerID(index: Int32(index), generation: generation)
    }

    func listenerIndex(_ id: TCPListenerID) -> Int? {
        guard id.index >= 0, Int(id.index) < listeners.count, let listener = listeners[Int(id.index)],
              listener.generation == id.generation else { return nil }
        return Int(id.index)
    }

    /// Stops listening; children not yet accepted are reset.
    public func closeListener(_ id: TCPListenerID, now: TCPInstant) {
        guard let index = listenerIndex(id), let listener = listeners[index] else { return }
        listenerByEndpoint.removeValue(forKey: listener.local)
        listeners[index] = nil
        for slot in slots.indices where slotInfo[slot].parent == Int32(index) && !slotInfo[slot].accepted {
            slots[slot]?.abort()
            slotInfo[slot].released = true
            slotInfo[slot].parent = -1
            markDirty(Int32(slot))
        }
    }

    /// The next established connection of a listener, or nil.
    public func accept(_ id: TCPListenerID) -> TCPConnectionID? {
        guard let index = listenerIndex(id) else { return nil }
        while let child = listeners[index]!.popAccept() {
            guard connection(child) != nil else { continue }
            let slot = Int(child.slot)
            slotInfo[slot].accepted = true
            slotInfo[slot].inAcceptQueue = false
            slotInfo[slot].parent = -1
            statistics.connectionsAccepted += 1
            if slots[slot]!.hasPendingEvents { markDirty(child.slot) }
            return child
        }
        return nil
    }

    /// Connections waiting in a listener's accept queue.
    public func acceptQueueLength(_ id: TCPListenerID) -> Int {
        listenerIndex(id).map { listeners[$0]!.acceptQueueCount } ?? 0
    }

    // MARK: Segments for a listener

    func handleForListener(_ index: Int, tuple: TCPFourTuple, segment: TCPRepr, payload: TCPPayload,
                           reuseAbove: TCPSequenceNumber?, now: TCPInstant) {
        let flags = segment.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) && !flags.contains(.syn) {
            if configuration.synCookies, completeCookieHandshake(index, tuple: tuple, segment: segment, payload: payload, now: now) {
                return
            }
            if let sent = listeners[index]!.lastCookieSent, now - sent < TCPSYNCookies.period * 2 {
                // An ACK that fails the cookie check while cookies are in use
                // (their lifetime, as Linux's tcp_synq_no_recent_overflow) may
                // come from a peer whose handshake ACK and first data were
                // lost (our input overran): its next segment (a duplicate
                // ACK, later data, its FIN) carries SEG.SEQ past ISN + 1,
                // which no stateless check can verify. A RST would end its
                // connection; dropped, its data comes again from SEG.SEQ =
                // ISN + 1 and passes. Linux resets here.
                statistics.synCookieACKsDroppedUnchecked += 1
                return
            }
            queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count,
                                                  source: tuple.remote.address, destination: tuple.local.address))
            return
        }
        guard flags.contains(.syn) && !flags.contains(.ack) else {
            if flags.contains(.syn) {
                queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count,
                                                      source: tuple.remote.address, destination: tuple.local.address))
            }
            return
        }
        let listener = listeners[index]!
        if listener.acceptQueueCount >= listener.acceptBacklog {
            statistics.synsDropped += 1
            return
        }
        if listener.halfOpen >= listener.synBacklog {
            if configuration.synCookies {
                sendCookieSYNACK(index, tuple: tuple, segment: segment, now: now)
            } else {
                statistics.synsDropped += 1
            }
            return
        }
        let connection = TCPConnection(shared: connectionShared, options: listener.options,
                                       local: tuple.local, remote: tuple.remote, chunkCache: chunkCache)
        connection.state = .listen
        connection.handle(segment: segment, payload: payload, source: tuple.remote.address,
                          destination: tuple.local.address, now: now)
        if let old = reuseAbove {
            // RFC 6191: the new incarnation's ISN must be above the old SND.NXT.
            connection.raiseInitialSequence(above: old)
        }
        let slot = insert(connection)
        slotInfo[Int(slot)].parent = Int32(index)
        slotInfo[Int(slot)].accepted = false
        listeners[index]!.halfOpen += 1
        markDirty(slot)
    }

    func sendCookieSYNACK(_ listenerIndex: Int, tuple: TCPFourTuple, segment: TCPRepr, now: TCPInstant) {
        let listener = listeners[listenerIndex]!
        let offered = segment.options
        let localMSS = configuration.localMSS(ipv4: tuple.isIPv4)
        let mss = UInt16(min(Int(offered.maximumSegmentSize ?? 536), localMSS))
        let scale: UInt8? = listener.options.windowScaling ? offered.windowScale : nil
        let sack = listener.options.selectiveAcknowledgments && offered.sackPermitted
        let clientISN = TCPSequenceNumber(segment.sequenceNumber)
        let isn = cookies.make(tuple: tuple, clientISN: clientISN, mss: mss, windowScale: scale, sackPermitted: sack, now: now)
        var options = TCPOptions()
        options.maximumSegmentSize = UInt16(min(localMSS, 65535))
        if scale != nil { options.windowScale = configuration.receiveWindowScale(for: listener.options) }
        options.sackPermitted = sack
        if listener.options.timestamps, let stamp = offered.timestamp {
            options.timestamp = (now.milliseconds32 &+ sequenceNumbers.timestampOffset(for: tuple), stamp.value)
        }
        let repr = TCPRepr(sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                           sequenceNumber: isn.rawValue, acknowledgmentNumber: (clientISN + 1).rawValue,
                           flags: [.syn, .ack], window: UInt16(min(listener.options.receiveBufferSize, 65535)),
                           options: options)
        statistics.synCookiesSent += 1
        listeners[listenerIndex]!.lastCookieSent = now
        queueControl(TCPOutgoingSegment(repr: repr, source: tuple.local.address, destination: tuple.remote.address))
    }

    /// The ACK of a cookie SYN-ACK at the listener (no connection holds
    /// its 4-tuple): the cookie is checked against SEG.SEQ - 1 as the
    /// peer's ISN (the first segment after the handshake). False when it is
    /// no valid cookie (the caller resets it).
    func completeCookieHandshake(_ index: Int, tuple: TCPFourTuple, segment: TCPRepr,
                                 payload: TCPPayload, now: TCPInstant) -> Bool {
        let ourISN = TCPSequenceNumber(segment.acknowledgmentNumber) - 1
        let clientISN = TCPSequenceNumber(segment.sequenceNumber) - 1
        guard let decoded = cookies.check(tuple: tuple, clientISN: clientISN, ourISN: ourISN, now: now) else {
            statistics.synCookiesRejected += 1
            return false
        }
        guard acceptQueueHasRoom(index) else { return true }  // dropped; the peer retransmits its data or ACK
        establishFromCookie(index, decoded, tuple: tuple, segment: segment, payload: payload,
                            clientISN: clientISN, ourISN: ourISN, now: now)
        return true
    }

    /// Room in the accept queue for a connection made from a cookie. When
    /// full, the ACK is dropped (counted) and nothing is kept, as Linux's
    /// tcp_v4_syn_recv_sock does (ListenOverflows): the peer's data or ACK
    /// comes again, and the cookie is still valid then.
    func acceptQueueHasRoom(_ index: Int) -> Bool {
        let listener = listeners[index]!
        guard listener.acceptQueueCount < listener.acceptBacklog else {
            statistics.cookieACKsDroppedQueueFull += 1
            return false
        }
        return true
    }

    func establishFromCookie(_ index: Int, _ decoded: TCPSYNCookies.Decoded, tuple: TCPFourTuple, segment: TCPRepr,
                             payload: TCPPayload, clientISN: TCPSequenceNumber, ourISN: TCPSequenceNumber, now: TCPInstant) {
        let listener = listeners[index]!
        let connection = TCPConnection(shared: connectionShared, options: listener.options,
                                       local: tuple.local, remote: tuple.remote, chunkCache: chunkCache)
        connection.establishFromCookie(decoded, segment: segment, initialSendSequence: ourISN,
                                       initialReceiveSequence: clientISN, now: now)
        statistics.synCookiesAccepted += 1
        let slot = insert(connection)
        slotInfo[Int(slot)].parent = Int32(index)
        slotInfo[Int(slot)].accepted = false
        listeners[index]!.halfOpen += 1  // balanced when it moves to the accept queue
        connection.handle(segment: segment, payload: payload, source: tuple.remote.address,
                          destination: tuple.local.address, now: now)
        markDirty(slot)
    }

    /// The peer answers a cookie SYN-ACK while a half-open child holds its
    /// 4-tuple: its SYN was retransmitted and met a SYN backlog with room
    /// again, so a normal child (with another ISN) was made, but the peer
    /// took the cookie's SYN-ACK first and is ESTABLISHED. As Linux's
    /// tcp_check_req hands an ACK that does not match the request to the
    /// listener's cookie check, a valid cookie replaces the child (dropped
    /// silently) with the connection the cookie describes. Beyond Linux, the
    /// cookie is checked against the child's record of the peer's ISN, not
    /// SEG.SEQ - 1: when the peer's first ACK and data were lost (our input
    /// overran), its next segment (a duplicate ACK answering the child's
    /// SYN-ACK, SEG.SEQ past its data) still connects instead of being reset
    /// (which ends the peer's connection). With the accept queue full the
    /// segment is dropped and the child kept: the peer sends again.
    /// The ACK completing a half-open child's handshake while its listener's
    /// accept queue is full: dropped (counted) and the child kept in
    /// SYN-RECEIVED, as Linux keeps the request socket (tcp_check_req's
    /// listen_overflow): the child's SYN-ACK goes again on its timer, the
    /// peer's ACK comes again and completes it once accept() made room.
    /// (Without this check settle() queued every child that completed, so
    /// the queue could hold the backlog plus every half-open child.)
    func holdsChildForFullAcceptQueue(_ slot: Int32, _ child: TCPConnection, segment: TCPRepr) -> Bool {
        guard child.state == .synReceived else { return false }  // every segment comes here: the cheap test first
        let flags = segment.flags
        guard flags.contains(.ack), !flags.contains(.syn), !flags.contains(.rst) else { return false }
        let info = slotInfo[Int(slot)]
        guard !info.accepted, !info.inAcceptQueue, info.parent >= 0, let listener = listeners[Int(info.parent)],
              listener.acceptQueueCount >= listener.acceptBacklog else { return false }
        statistics.handshakeACKsDroppedQueueFull += 1
        return true
    }

    func completesCookieOverHalfOpen(_ slot: Int32, _ child: TCPConnection, tuple: TCPFourTuple, segment: TCPRepr,
                                     payload: TCPPayload, now: TCPInstant) -> Bool {
        guard child.state == .synReceived else { return false }  // every segment comes here: the cheap test first
        let flags = segment.flags
        let ack = TCPSequenceNumber(segment.acknowledgmentNumber)
        guard configuration.synCookies, flags.contains(.ack), !flags.contains(.syn), !flags.contains(.rst),
              ack != child.initialSendSequence + 1 else { return false }
        let info = slotInfo[Int(slot)]
        guard !info.accepted, !info.inAcceptQueue, info.parent >= 0, listeners[Int(info.parent)] != nil else { return false }
        // SEG.SEQ within the window the cookie SYN-ACK offered (never scaled on a SYN).
        let clientISN = child.initialReceiveSequence
        let offset = TCPSequenceNumber(segment.sequenceNumber) - (clientISN + 1)
        guard offset >= 0 && offset <= 65535,
              let decoded = cookies.check(tuple: tuple, clientISN: clientISN, ourISN: ack - 1, now: now) else { return false }
        let index = Int(info.parent)
        guard acceptQueueHasRoom(index) else { return true }
        listeners[index]!.halfOpen = max(listeners[index]!.halfOpen - 1, 0)
        child.enterClosed(error: nil)
        free(slot)
        statistics.synCookiesOverHalfOpen += 1
        establishFromCookie(index, decoded, tuple: tuple, segment: segment, payload: payload,
                            clientISN: clientISN, ourISN: ack - 1, now: now)
        return true
    }
}
