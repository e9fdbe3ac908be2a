import Wire

extension TCPConnection {
    /// A segment arrived for this connection (the table already matched the
    /// 4-tuple; a LISTEN connection takes any remote). `payload` is only read
    /// during the call.
    /// Returns false (and changes nothing) when the segment belongs to
    /// another 4-tuple.
    @discardableResult
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv4Address,
                       destination: IPv4Address, now: TCPInstant) -> Bool {
        guard segment.destinationPort == tuple.local.port,
              tuple.local.address.isUnspecified || destination == tuple.local.address else { return false }
        if state != .closed && state != .listen {
            guard segment.sourcePort == tuple.remote.port, source == tuple.remote.address else { return false }
        }
        statistics.segmentsReceived += 1
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
    public static func resetReply(to segment: TCPRepr, payloadLength: Int, source: IPv4Address,
                                  destination: IPv4Address) -> TCPOutgoingSegment? {
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

    func queueReset(answering segment: TCPRepr, payloadLength: Int, source: IPv4Address, destination: IPv4Address) {
        if let reply = Self.resetReply(to: segment, payloadLength: payloadLength, source: source, destination: destination) {
            pendingReset = reply
        }
    }

    // MARK: LISTEN (RFC 9293 3.10.7.2)

    func handleInListen(_ segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv4Address,
                        destination: IPv4Address, now: TCPInstant) {
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

    /// Records the SYN's options: what we use is what both sides offered.
    func negotiateOptions(from segment: TCPRepr, weSentSYN: Bool, now: TCPInstant) {
        let offered = segment.options
        peerMSS = Int(offered.maximumSegmentSize ?? 536)
        if options.windowScaling, let scale = offered.windowScale {
            windowScalingEnabled = true
            sendWindowScale = min(scale, 14)
        } else {
            windowScalingEnabled = false
            sendWindowScale = 0
            receiveWindowScale = 0
        }
        sackEnabled = options.selectiveAcknowledgments && offered.sackPermitted
        if options.timestamps, let stamp = offered.timestamp {
            timestampsEnabled = true
            timestampRecent = stamp.value
            timestampRecentTime = now
        } else {
            timestampsEnabled = false
        }
        congestion = TCPCongestionController(options.congestionControl, mss: sendMSS)
    }

    // MARK: SYN-SENT (RFC 9293 3.10.7.3)

    func handleInSynSent(_ segment: TCPRepr, payload: UnsafeRawBufferPointer, now: TCPInstant) {
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

    func handleSynchronized(_ segment: TCPRepr, payload: UnsafeRawBufferPointer, now: TCPInstant) {
        let flags = segment.flags
        let sequence = TCPSequenceNumber(segment.sequenceNumber)
        let segmentLength = payload.count + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)

        // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost, send it again.
        if state == .synReceived && flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
            && sequence == initialReceiveSequence {
            sendNext = initialSendSequence
            return
        }

        // PAWS (RFC 7323 5.3): old timestamps mark old duplicates.
        if timestampsEnabled, !flags.contains(.rst), let stamp = segment.options.timestamp {
            let stale = now - timestampRecentTime > .seconds(24 * 24 * 3600)
            if Int32(bitPattern: stamp.value &- timestampRecent) < 0 && !stale {
                statistics.pawsDrops += 1
                ackNow = true
                return
            }
        }

        // Acceptability (RFC 9293 3.10.7.4, first check).
        let window = max(receiveAdvertisedEdge - receiveNext, 0)
        if !isAcceptable(sequence: sequence, length: segmentLength, window: window) {
            statistics.unacceptableSegments += 1
            if !flags.contains(.rst) {
                // Only the peer's FIN retransmitted exactly restarts 2 MSL
                // (anything else could hold the 4-tuple forever).
                if state == .timeWait && flags.contains(.fin) && sequence + segmentLength == receiveNext {
                    timeWaitDeadline = now + configuration.maximumSegmentLifetime * 2
                }
                ackNow = true
            }
            return
        }
        lastSegmentReceivedTime = now
        keepAliveProbesSent = 0
        armKeepAlive(now: now)

        // RST (RFC 5961 section 3): exact match resets, in-window challenges.
        if flags.contains(.rst) {
            if sequence != receiveNext {
                sendChallengeACK(now: now)
                return
            }
            switch state {
            case .synReceived:
                enterClosed(error: passiveOpen ? nil : .connectionRefused)
            case .established, .finWait1, .finWait2, .closeWait:
                pendingEvents.insert(.readClosed)
                enterClosed(error: .connectionReset)
            case .closing, .lastAck:
                enterClosed(error: nil)
            case .timeWait:
                return  // RFC 1337: a RST must not end TIME-WAIT early.
            default:
                return
            }
            return
        }

        // SYN in a synchronized state (RFC 5961 section 4): challenge ACK.
        if flags.contains(.syn) {
            if state == .timeWait {
                ackNow = true
            } else {
                sendChallengeACK(now: now)
            }
            return
        }

        guard flags.contains(.ack) else { return }
        let ack = TCPSequenceNumber(segment.acknowledgmentNumber)

        if state == .synReceived {
            guard sendUnacknowledged < ack && !(sendMax < ack) else {
                queueReset(answering: segment, payloadLength: payload.count,
                           source: tuple.remote.address, destination: tuple.local.address)
                return
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
        }

        // ACK acceptability (RFC 5961 section 5).
        if sendMax < ack {
            ackNow = true
            return
        }
        if ack < sendUnacknowledged - max(maximumSendWindow, 1) {
            sendChallengeACK(now: now)
            return
        }

        // TS.Recent (RFC 7323 section 4.3).
        if timestampsEnabled, let stamp = segment.options.timestamp, !(lastAcknowledgmentSent < sequence) {
            timestampRecent = stamp.value
            timestampRecentTime = now
        }

        processAcknowledgment(segment, ack: ack, sequence: sequence, payloadLength: payload.count, now: now)
        if state == .closed { return }

        // Text and FIN.
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

    /// RFC 9293's four-case acceptability test, with the right edge itself
    /// acceptable for a zero-length segment (as Linux and FreeBSD do): a peer
    /// that filled our window and lost a segment of it sends its ACKs with
    /// SEQ = RCV.NXT + RCV.WND, and their ACK fields must count, or our
    /// sending stalls until the retransmission timeout.
    func isAcceptable(sequence: TCPSequenceNumber, length: Int, window: Int) -> Bool {
        let edge = receiveNext + window
        switch (length == 0, window == 0) {
        case (true, true): return sequence == receiveNext
        case (true, false): return sequence.isIn(receiveNext, upTo: edge) || sequence == edge
        case (false, true): return false
        case (false, false):
            return sequence.isIn(receiveNext, upTo: edge) || (sequence + length - 1).isIn(receiveNext, upTo: edge)
        }
    }

    func sendChallengeACK(now: TCPInstant) {
        if challengeLimiter.allow(now: now) {
            statistics.challengeACKsSent += 1
            ackNow = true
        } else {
            statistics.challengeACKsSuppressed += 1
        }
    }

    // MARK: ACK processing

    func processAcknowledgment(_ segment: TCPRepr, ack: TCPSequenceNumber, sequence: TCPSequenceNumber,
                               payloadLength: Int, now: TCPInstant) {
        lastACKReceivedTime = now
        unansweredProbes = 0
        let windowBytes = Int(segment.window) << Int(sendWindowScale)
        var newSACKInformation = false
        if sackEnabled && !segment.options.sackBlocks.isEmpty {
            noteDuplicateSACK(segment.options.sackBlocks, ack: ack)
            newSACKInformation = scoreboard.update(
                with: segment.options.sackBlocks, una: TCPSequenceNumber.latest(ack, sendUnacknowledged), highData: sendMax)
        }

        if sendUnacknowledged < ack {
            acknowledgeNewData(upTo: ack, segment: segment, now: now)
        } else if ack == sendUnacknowledged && payloadLength == 0 && !segment.flags.contains(.fin)
                    && windowBytes == sendWindow && windowBytes > 0 && sendUnacknowledged < sendMax {
            // (Answers to zero-window probes are not duplicate ACKs.)
            // A duplicate ACK in RFC 5681's strict sense.
            statistics.duplicateACKsReceived += 1
            duplicateACKs += 1
            noteDuplicateACK(newSACKInformation: newSACKInformation, now: now)
        } else if newSACKInformation && inRecovery == false && sackEnabled {
            noteDuplicateACK(newSACKInformation: true, now: now)
        }
        if newSACKInformation && inRecovery { detectLostRetransmission() }

        // Window update (RFC 9293: only from segments newer than the last update).
        if sendWindowUpdateSequence < sequence
            || (sendWindowUpdateSequence == sequence && !(ack < sendWindowUpdateAcknowledgment)) {
            let opened = sendWindow == 0 && windowBytes > 0
            sendWindow = windowBytes
            maximumSendWindow = max(maximumSendWindow, windowBytes)
            sendWindowUpdateSequence = sequence
            sendWindowUpdateAcknowledgment = ack
            if opened {
                sendZeroWindowProbe = false
                persistDeadline = nil
                persistBackoff = 0
                if sendUnacknowledged < sendMax && retransmitDeadline == nil {
                    retransmitDeadline = now + roundTrip.timeout
                }
            }
        }

        // State changes driven by the ACK of our FIN.
        switch state {
        case .finWait1:
            if finAcknowledged {
                state = .finWait2
                if isOrphaned { finWait2Deadline = now + configuration.finWait2Timeout }
            }
        case .closing:
            if finAcknowledged { enterTimeWait(now: now) }
        case .lastAck:
            if finAcknowledged { enterClosed(error: nil) }
        default:
            break
        }
    }

    func acknowledgeNewData(upTo ack: TCPSequenceNumber, segment: TCPRepr, now: TCPInstant) {
        let acknowledged = ack - sendUnacknowledged
        var dataBytes = acknowledged
        if !ourSYNAcknowledged {
            dataBytes -= 1
            ourSYNAcknowledged = true
        }
        if let fin = finSequence, fin < ack { dataBytes -= 1 }
        dataBytes = min(max(dataBytes, 0), sendBuffer.count)

        // RTT: timestamps give a sample per ACK, otherwise the timed segment (Karn).
        if timestampsEnabled, let stamp = segment.options.timestamp, stamp.echoReply != 0 {
            let elapsed = Int64(Int32(bitPattern: timestampClock(now) &- stamp.echoReply))
            if elapsed >= 0 { roundTrip.addSample(.milliseconds(UInt64(elapsed))) }
        } else if let sample = rttSample, sample.sequence < ack {
            roundTrip.addSample(now - sample.sentAt)
            rttSample = nil
        }

        sendBuffer.removeFirst(dataBytes)
        previousUnacknowledged = sendUnacknowledged
        sendUnacknowledged = ack
        unaRetransmissionMark = nil
        if sendNext < ack { sendNext = ack }
        scoreboard.advance(to: ack)
        statistics.bytesSent += dataBytes
        if dataBytes > 0 { pendingEvents.insert(.writable) }
        retransmissionCount = 0
        roundTrip.resetBackoff()
        if !(highRetransmitted > ack) { highRetransmitted = ack }

        // Congestion control and recovery (RFC 5681, RFC 6582, RFC 6675).
        if inRecovery {
            if !(ack < recoveryPoint) {
                inRecovery = false
                recoveryInflation = 0
                duplicateACKs = 0
                retransmitFirstPending = false
                congestion.onRecoveryEnd(flightSize: flightSize, mss: sendMSS)
            } else {
                // Partial ACK: the next hole is lost too (RFC 6582; with SACK
                // the same inference, as the scoreboard alone may not mark it).
                retransmitFirstPending = true
                if !sackEnabled {
                    recoveryInflation = max(recoveryInflation - acknowledged, 0) + (acknowledged >= sendMSS ? sendMSS : 0)
                }
                retransmitDeadline = now + roundTrip.timeout
            }
        } else {
            duplicateACKs = 0
            congestion.onAcknowledged(bytes: acknowledged, mss: sendMSS, now: now, smoothedRTT: roundTrip.smoothedRTT)
        }

        tailLossProbeOutstanding = false
        if sendUnacknowledged == sendMax {
            retransmitDeadline = nil
            probeDeadline = nil
        } else if !inRecovery {
            retransmitDeadline = now + roundTrip.timeout
            armTailLossProbe(now: now)
        }
    }

    /// The retransmission of the segment at SND.UNA was lost when data sent
    /// after it has been SACKed: send it again now rather than wait for the
    /// RTO (Linux does the same through RACK). No second window reduction:
    /// the loss belongs to the recovery already under way.
    func detectLostRetransmission() {
        guard let mark = unaRetransmissionMark, mark < sendMax else { return }
        let sackedAbove = (sendMax - mark) - scoreboard.unsackedBytes(from: mark, to: sendMax)
        guard sackedAbove >= max(reorderingThreshold - 2, 1) * sendMSS else { return }
        unaRetransmissionMark = nil
        statistics.lostRetransmissions += 1
        retransmitFirstPending = true
    }

    /// RFC 2883: a first SACK block below the cumulative ACK, or inside the
    /// second block, reports data that arrived twice. When every
    /// retransmission of the last fast recovery came back this way, the
    /// originals had only been late (reordering): the recovery was spurious
    /// (RFC 3708), so its window reduction is undone and DupThresh raised.
    func noteDuplicateSACK(_ blocks: TCPSACKBlocks, ack: TCPSequenceNumber) {
        let first = blocks[0]
        let left = TCPSequenceNumber(first.left)
        let right = TCPSequenceNumber(first.right)
        guard left < right else { return }
        var duplicate = !(ack < right)
        if !duplicate && blocks.count > 1 {
            let second = blocks[1]
            duplicate = !(left < TCPSequenceNumber(second.left)) && !(TCPSequenceNumber(second.right) < right)
        }
        guard duplicate else { return }
        statistics.duplicateSACKsReceived += 1
        guard var recovery = lastRecovery, !(left < recovery.start), left < recovery.end else { return }
        recovery.duplicates += 1
        lastRecovery = recovery
        guard recovery.retransmissions > 0, recovery.duplicates >= recovery.retransmissions else { return }
        lastRecovery = nil
        statistics.spuriousRecoveriesUndone += 1
        reorderingThreshold = min(reorderingThreshold + 1, Self.maximumReorderingThreshold)
        // Only the window: a recovery still under way goes on (other holes
        // may be real losses), as Linux's D-SACK undo does.
        if recovery.congestionBefore.congestionWindow > congestion.congestionWindow {
            congestion = recovery.congestionBefore
        }
    }

    func noteDuplicateACK(newSACKInformation: Bool, now: TCPInstant) {
        if inRecovery {
            if !sackEnabled { recoveryInflation += sendMSS }
            return
        }
        let lossBySACK = sackEnabled && (scoreboard.lossBoundary(mss: sendMSS, threshold: reorderingThreshold).map { sendUnacknowledged < $0 } ?? false)
        guard duplicateACKs >= reorderingThreshold || lossBySACK else { return }
        // RFC 6582: no second reduction for losses of the same window, unless
        // the ACK heuristic (section 4.1) says these duplicates mean a new loss.
        if sendUnacknowledged < recoveryPoint {
            let recentAdvance = sendUnacknowledged - previousUnacknowledged
            guard congestionWindow > sendMSS && recentAdvance <= 4 * sendMSS else { return }
        }
        lastRecovery = (congestionBefore: congestion, start: sendUnacknowledged, end: sendMax,
                        retransmissions: 0, duplicates: 0)
        inRecovery = true
        statistics.fastRetransmits += 1
        recoveryPoint = sendMax
        highRetransmitted = sendUnacknowledged
        congestion.onFastRecovery(flightSize: flightSize, mss: sendMSS, now: now)
        recoveryInflation = sackEnabled ? 0 : 3 * sendMSS
        retransmitFirstPending = true
        rttSample = nil
        retransmitDeadline = now + roundTrip.timeout
        probeDeadline = nil
    }

    // MARK: Data and FIN

    /// Places the payload (already known to overlap the window) into the
    /// receive ring, in order or out of order, and handles the FIN.
    func processText(start: TCPSequenceNumber, payload: UnsafeRawBufferPointer, fin: Bool, now: TCPInstant) {
        var begin = start
        var bytes = payload
        var finHere = fin
        // Trim what we already have.
        if begin < receiveNext {
            let duplicate = receiveNext - begin
            if duplicate >= bytes.count {
                bytes = UnsafeRawBufferPointer(start: nil, count: 0)
                if fin && begin + payload.count < receiveNext { finHere = false }
            } else {
                bytes = UnsafeRawBufferPointer(rebasing: bytes[duplicate...])
            }
            begin = receiveNext
        }
        let offset = begin - receiveNext
        // Trim to the room in the ring (never beyond what we announced).
        let room = receiveBuffer.freeSpace - offset
        if bytes.count > room {
            bytes = UnsafeRawBufferPointer(rebasing: bytes.prefix(max(room, 0)))
            finHere = false
            statistics.receiveBufferDrops += 1
            ackNow = true  // tell the sender at once how little room there is
        }

        if bytes.count > 0 {
            if offset == 0 {
                receiveBuffer.write(at: receiveBuffer.count, from: bytes)
                var newNext = begin + bytes.count
                let hadHoles = !reassembly.isEmpty
                if let reached = reassembly.takeContiguous(from: newNext) { newNext = reached }
                receiveBuffer.commit(newNext - receiveNext)
                statistics.bytesReceived += newNext - receiveNext
                receiveNext = newNext
                pendingEvents.insert(.readable)
                bytesSinceLastACK += bytes.count
                if hadHoles { duplicateACKsOwed = 0 }
                if hadHoles || bytesSinceLastACK >= 2 * sendMSS {
                    ackNow = true
                } else if delayedACKDeadline == nil {
                    delayedACKDeadline = now + configuration.delayedACKTimeout
                }
            } else {
                if reassembly.insert(start: begin, end: begin + bytes.count) {
                    receiveBuffer.write(at: receiveBuffer.count + offset, from: bytes)
                } else {
                    statistics.outOfOrderDrops += 1
                    finHere = false
                }
                // One duplicate ACK per out-of-order segment (RFC 5681 4.2), even
                // when the stack handles a burst before asking for output.
                duplicateACKsOwed = min(duplicateACKsOwed + 1, 64)
            }
        }

        if finHere {
            let finAt = begin + bytes.count
            if finAt == receiveNext {
                receivePeerFIN(now: now)
            } else {
                pendingPeerFIN = finAt
                ackNow = true
            }
        } else if let pending = pendingPeerFIN, pending == receiveNext {
            receivePeerFIN(now: now)
        }
    }

    /// The peer's FIN is next in sequence (RFC 9293 3.10.7.4, eighth check).
    func receivePeerFIN(now: TCPInstant) {
        pendingPeerFIN = nil
        peerFINReceived = true
        receiveNext = receiveNext + 1
        ackNow = true
        pendingEvents.formUnion([.readable, .readClosed])
        switch state {
        case .synReceived, .established:
            state = .closeWait
        case .finWait1:
            if finAcknowledged { enterTimeWait(now: now) } else { state = .closing }
        case .finWait2:
            enterTimeWait(now: now)
        default:
            break
        }
    }

    /// Our timestamp clock: milliseconds plus the per-connection offset.
    func timestampClock(_ now: TCPInstant) -> UInt32 { now.milliseconds32 &+ timestampOffset }
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
        receiveAdvertisedEdge = receiveNext + min(receiveBuffer.freeSpace, 65535)
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
