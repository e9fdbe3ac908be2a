import Wire

extension TCPConnection {
    /// A segment arrived for this connection (the table already matched the
    /// 4-tuple; a LISTEN connection takes any remote). `payload` is only read
    /// during the call.
    /// Returns false (and changes nothing) when the segment belongs to
    /// another 4-tuple.
    @discardableResult
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv6Address,
                       destination: IPv6Address, now: TCPInstant) -> Bool {
        handle(segment: segment, payload: TCPPayload(payload), source: source, destination: destination, now: now)
    }

    /// An IPv4 segment (addresses v4-mapped; for tests and tools).
    @discardableResult
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv4Address,
                       destination: IPv4Address, now: TCPInstant) -> Bool {
        handle(segment: segment, payload: payload, source: IPv6Address(ipv4Mapped: source),
               destination: IPv6Address(ipv4Mapped: destination), now: now)
    }

    /// As above, for a payload in one region or several (a packet chain,
    /// coalesced segments); `segment` is the first segment's header.
    @discardableResult
    public func handle(segment: TCPRepr, payload: TCPPayload, source: IPv6Address,
                       destination: IPv6Address, now: TCPInstant) -> Bool {
        guard segment.destinationPort == tuple.local.port,
              tuple.local.isWildcard || destination == tuple.local.address else { return false }
        if state != .closed && state != .listen {
            guard segment.sourcePort == tuple.remote.port, source == tuple.remote.address else { return false }
        }
        statistics.segmentsReceived += payload.segmentCount
        switch state {
        case .closed:
            queueReset(answering: segment, payloadLength: payload.count, source: source, destination: destination)
        case .listen:
            handleInListen(segment, payload: payload, source: source, destination: destination, now: now)
        case .synSent:
            handleInSynSent(segment, payload: payload, now: now)
        default:
            handleSynchronized(segment, payload: payload, now: now)
        }
        return true
    }

    /// The RST that answers a segment nobody wants (RFC 9293 3.10.7.1).
    public static func resetReply(to segment: TCPRepr, payloadLength: Int, source: IPv6Address,
                                  destination: IPv6Address) -> TCPOutgoingSegment? {
        guard !segment.flags.contains(.rst) else { return nil }
        var repr = TCPRepr(sourcePort: segment.destinationPort, destinationPort: segment.sourcePort,
                           sequenceNumber: 0, flags: [.rst], window: 0)
        if segment.flags.contains(.ack) {
            repr.sequenceNumber = segment.acknowledgmentNumber
        } else {
            let length = payloadLength + (segment.flags.contains(.syn) ? 1 : 0) + (segment.flags.contains(.fin) ? 1 : 0)
            repr.acknowledgmentNumber = segment.sequenceNumber &+ UInt32(truncatingIfNeeded: length)
            repr.flags.insert(.ack)
        }
        return TCPOutgoingSegment(repr: repr, source: destination, destination: source)
    }

    func queueReset(answering segment: TCPRepr, payloadLength: Int, source: IPv6Address, destination: IPv6Address) {
        if let reply = Self.resetReply(to: segment, payloadLength: payloadLength, source: source, destination: destination) {
            pendingReset = reply
        }
    }

    // MARK: LISTEN (RFC 9293 3.10.7.2)

    func handleInListen(_ segment: TCPRepr, payload: TCPPayload, source: IPv6Address,
                        destination: IPv6Address, now: TCPInstant) {
        if segment.flags.contains(.rst) { return }
        if segment.flags.contains(.ack) {
            queueReset(answering: segment, payloadLength: payload.count, source: source, destination: destination)
            return
        }
        guard segment.flags.contains(.syn) else { return }
        acceptSYN(segment, local: TCPEndpoint(address: destination, port: segment.destinationPort),
                  remote: TCPEndpoint(address: source, port: segment.sourcePort), now: now)
    }

    /// LISTEN + SYN: becomes SYN-RECEIVED for `remote`, the SYN-ACK pending.
    func acceptSYN(_ segment: TCPRepr, local: TCPEndpoint, remote: TCPEndpoint, now: TCPInstant) {
        tuple = TCPFourTuple(local: local, remote: remote)
        passiveOpen = true
        initialReceiveSequence = TCPSequenceNumber(segment.sequenceNumber)
        receiveNext = initialReceiveSequence + 1
        receiveAdvertisedEdge = receiveNext
        lastAcknowledgmentSent = receiveNext
        negotiateOptions(from: segment, weSentSYN: false, now: now)
        initialSendSequence = sequenceNumbers.initialSequenceNumber(for: tuple, now: now)
        timestampOffset = sequenceNumbers.timestampOffset(for: tuple)
        sendUnacknowledged = initialSendSequence
        sendNext = initialSendSequence
        sendMax = initialSendSequence
        recoveryPoint = initialSendSequence
        sendWindow = Int(segment.window)
        sendWindowUpdateSequence = TCPSequenceNumber(segment.sequenceNumber)
        sendWindowUpdateAcknowledgment = initialSendSequence
        maximumSendWindow = sendWindow
        state = .synReceived
        lastSegmentReceivedTime = now
    }

    // MARK: SYN-SENT (RFC 9293 3.10.7.3)

    func handleInSynSent(_ segment: TCPRepr, payload: TCPPayload, now: TCPInstant) {
        let flags = segment.flags
        let ack = TCPSequenceNumber(segment.acknowledgmentNumber)
        var ackAcceptable = false
        if flags.contains(.ack) {
            if !(initialSendSequence < ack) || sendMax < ack {
                if !flags.contains(.rst) {
                    queueReset(answering: segment, payloadLength: payload.count,
                               source: tuple.remote.address, destination: tuple.local.address)
                }
                return
            }
            ackAcceptable = true
        }
        if flags.contains(.rst) {
            if ackAcceptable { enterClosed(error: .connectionRefused) }
            return
        }
        guard flags.contains(.syn) else { return }
        initialReceiveSequence = TCPSequenceNumber(segment.sequenceNumber)
        receiveNext = initialReceiveSequence + 1
        receiveAdvertisedEdge = receiveNext
        lastAcknowledgmentSent = receiveNext
        negotiateOptions(from: segment, weSentSYN: true, now: now)
        lastSegmentReceivedTime = now
        if ackAcceptable {
            // Our SYN acknowledged: RTT sample unless it was retransmitted (Karn).
            if synRetransmissions == 0, let sample = rttSample, sample.sequence < ack {
                roundTrip.addSample(now - sample.sentAt)
            }
            rttSample = nil
            sendUnacknowledged = ack
            ourSYNAcknowledged = true
            if sendNext < ack { sendNext = ack }
            sendWindow = Int(segment.window) << Int(sendWindowScale)
            maximumSendWindow = sendWindow
            sendWindowUpdateSequence = TCPSequenceNumber(segment.sequenceNumber)
            sendWindowUpdateAcknowledgment = ack
            retransmitDeadline = nil
            retransmissionCount = 0
            state = .established
            pendingEvents.insert(.connected)
            if sendBuffer.freeSpace > 0 { pendingEvents.insert(.writable) }
            armKeepAlive(now: now)
            ackNow = true
            // Data or FIN on the SYN-ACK: processed as in ESTABLISHED.
            if payload.count > 0 || flags.contains(.fin) {
                processText(start: receiveNext, payload: payload, fin: flags.contains(.fin), now: now)
            }
        } else {
            // Simultaneous open: answer with SYN-ACK from our ISS.
            state = .synReceived
            sendWindow = Int(segment.window)
            maximumSendWindow = sendWindow
            sendWindowUpdateSequence = TCPSequenceNumber(segment.sequenceNumber)
            sendNext = initialSendSequence
            retransmitDeadline = nil
        }
    }

    // MARK: Synchronized states and SYN-RECEIVED (RFC 9293 3.10.7.4)

    /// The checks of RFC 9293 3.10.7.4 in order; each step returns false
    /// (or handles the segment whole) when processing stops there.
    func handleSynchronized(_ segment: TCPRepr, payload: TCPPayload, now: TCPInstant) {
        let flags = segment.flags
        let sequence = TCPSequenceNumber(segment.sequenceNumber)
        let segmentLength = payload.count + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)

        // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again.
        if state == .synReceived && flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
            && sequence == initialReceiveSequence {
            sendNext = initialSendSequence
            return
        }

        if isOldDuplicateByTimestamp(segment, now: now) { return }
        guard acceptsSequence(of: segment, sequence: sequence, length: segmentLength, now: now) else { return }
        lastSegmentReceivedTime = now
        keepAliveProbesSent = 0
        armKeepAlive(now: now)

        if flags.contains(.rst) {
            handleResetInWindow(sequence: sequence, now: now)
            return
        }
        if flags.contains(.syn) {
            handleSYNInWindow(now: now)
            return
        }

        guard flags.contains(.ack) else { return }
        let ack = TCPSequenceNumber(segment.acknowledgmentNumber)
        if state == .synReceived {
            guard completeHandshake(segment, ack: ack, sequence: sequence, payloadLength: payload.count, now: now) else {
                return
            }
        }
        guard acceptsAcknowledgment(ack, now: now) else { return }
        updateTimestampRecent(from: segment, sequence: sequence, now: now)
        noteEchoedTimestamp(of: segment, now: now)

        processAcknowledgment(segment, ack: ack, sequence: sequence, payloadLength: payload.count, now: now)
        if state == .closed { return }

        processTextAndFIN(segment, sequence: sequence, segmentLength: segmentLength, payload: payload, now: now)
    }

    /// The ACK of our SYN-ACK (SYN-RECEIVED to ESTABLISHED); false when it
    /// acknowledges nothing of ours (answered with a RST).
    @inline(__always)
    func completeHandshake(_ segment: TCPRepr, ack: TCPSequenceNumber, sequence: TCPSequenceNumber,
                           payloadLength: Int, now: TCPInstant) -> Bool {
        guard sendUnacknowledged < ack && !(sendMax < ack) else {
            queueReset(answering: segment, payloadLength: payloadLength,
                       source: tuple.remote.address, destination: tuple.local.address)
            return false
        }
        state = .established
        pendingEvents.insert(.connected)
        if sendBuffer.freeSpace > 0 { pendingEvents.insert(.writable) }
        sendWindow = Int(segment.window) << Int(sendWindowScale)
        maximumSendWindow = max(maximumSendWindow, sendWindow)
        sendWindowUpdateSequence = sequence
        sendWindowUpdateAcknowledgment = ack
        if finQueued { state = .finWait1 }
        armKeepAlive(now: now)
        return true
    }

    /// Text and FIN (RFC 9293 3.10.7.4, seventh and eighth checks), by state.
    @inline(__always)
    func processTextAndFIN(_ segment: TCPRepr, sequence: TCPSequenceNumber, segmentLength: Int,
                           payload: TCPPayload, now: TCPInstant) {
        let flags = segment.flags
        switch state {
        case .established, .finWait1, .finWait2:
            processText(start: sequence, payload: payload, fin: flags.contains(.fin), now: now)
        case .timeWait:
            if flags.contains(.fin) {
                ackNow = true
                if sequence + segmentLength == receiveNext {
                    timeWaitDeadline = now + configuration.maximumSegmentLifetime * 2
                }
            }
        case .closeWait, .closing, .lastAck:
            if flags.contains(.fin) { ackNow = true }  // a retransmitted FIN
        default:
            break
        }
    }
}

extension TCPConnection {
    /// RFC 6191 reuse of a TIME-WAIT 4-tuple: the new ISS lies beyond the
    /// old incarnation's sequence space.
    func raiseInitialSequence(above old: TCPSequenceNumber) {
        guard state == .synReceived || (state == .synSent && sendNext == initialSendSequence),
              !(old < initialSendSequence) else { return }
        let raised = old + 65536
        initialSendSequence = raised
        sendUnacknowledged = raised
        sendNext = raised
        sendMax = raised
        recoveryPoint = raised
        sendWindowUpdateAcknowledgment = raised
    }

    /// The final ACK of a SYN-cookie handshake: the connection starts in
    /// ESTABLISHED with what the cookie and the ACK carry.
    func establishFromCookie(_ cookie: TCPSYNCookies.Decoded, segment: TCPRepr, initialSendSequence iss: TCPSequenceNumber,
                             initialReceiveSequence irs: TCPSequenceNumber, now: TCPInstant) {
        passiveOpen = true
        initialSendSequence = iss
        sendUnacknowledged = iss + 1
        sendNext = iss + 1
        sendMax = iss + 1
        previousUnacknowledged = iss + 1
        recoveryPoint = iss + 1
        ourSYNAcknowledged = true
        initialReceiveSequence = irs
        receiveNext = irs + 1
        lastAcknowledgmentSent = receiveNext
        peerMSS = Int(cookie.maximumSegmentSize)
        if options.windowScaling, let scale = cookie.windowScale {
            windowScalingEnabled = true
            sendWindowScale = scale
        } else {
            windowScalingEnabled = false
            sendWindowScale = 0
            receiveWindowScale = 0
        }
        sackEnabled = options.selectiveAcknowledgments && cookie.sackPermitted
        timestampOffset = sequenceNumbers.timestampOffset(for: tuple)
        if options.timestamps, let stamp = segment.options.timestamp {
            timestampsEnabled = true
            timestampRecent = stamp.value
            timestampRecentTime = now
        }
        receiveAdvertisedEdge = receiveNext + min(receiveRoom, 65535)
        congestion = TCPCongestionController(options.congestionControl, mss: sendMSS)
        sendWindow = Int(segment.window) << Int(sendWindowScale)
        maximumSendWindow = sendWindow
        sendWindowUpdateSequence = TCPSequenceNumber(segment.sequenceNumber)
        sendWindowUpdateAcknowledgment = sendUnacknowledged
        state = .established
        pendingEvents.insert(.connected)
        pendingEvents.insert(.writable)
        lastSegmentReceivedTime = now
        armKeepAlive(now: now)
    }

    /// The window to announce from TIME-WAIT (what the last ACK said).
    var announceWindowForTimeWait: UInt16 {
        let scale = windowScalingEnabled ? Int(receiveWindowScale) : 0
        return UInt16(min(max(receiveAdvertisedEdge - receiveNext, 0) >> scale, 65535))
    }
}
