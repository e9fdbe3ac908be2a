import Wire

extension TCPConnection {
    /// The next segment to send now, or nil when there is nothing (call until
    /// nil after every input, call and tick). Each returned segment is
    /// final: the connection has already counted it as sent.
    public func nextSegment(now: TCPInstant) -> TCPOutgoingSegment? {
        poll(now: now)
        if let reset = pendingReset {
            pendingReset = nil
            statistics.resetsSent += 1
            return reset
        }
        switch state {
        case .closed, .listen:
            return nil
        case .synSent:
            return sendNext == initialSendSequence ? makeSYN(now: now) : nil
        case .synReceived:
            if sendNext == initialSendSequence { return makeSYN(now: now) }
        default:
            break
        }
        if tailLossProbePending {
            tailLossProbePending = false
            if let segment = makeTailLossProbe(now: now) { return segment }
        }
        if let segment = makeRetransmission(now: now) { return segment }
        if let segment = makeNewData(now: now) { return segment }
        if sendZeroWindowProbe {
            sendZeroWindowProbe = false
            if let segment = makeWindowProbe(now: now) { return segment }
        }
        if sendKeepAliveProbe {
            sendKeepAliveProbe = false
            statistics.keepAliveProbes += 1
            // RFC 9293 3.8.4: SEG.SEQ = SND.NXT - 1 makes the peer answer with an ACK.
            return makeSegment(sequence: sendNext - 1, payloadLength: 0, flags: [.ack], now: now, isRetransmission: true)
        }
        if ackNow || duplicateACKsOwed > 0 {
            return makeSegment(sequence: sendNext, payloadLength: 0, flags: [.ack], now: now, isRetransmission: false)
        }
        return nil
    }

    // MARK: Building segments

    /// Bytes of options on a non-SYN segment, with their NOP padding.
    func optionBytes(sackBlocks: Int) -> Int {
        (timestampsEnabled ? 12 : 0) + (sackBlocks > 0 ? 4 + 8 * sackBlocks : 0)
    }

    var sackBlocksToSend: Int {
        guard sackEnabled, !reassembly.isEmpty else { return 0 }
        return min(reassembly.ranges.count, timestampsEnabled ? 3 : 4)
    }

    /// The payload that fits one segment after the options.
    var payloadBudget: Int { segmentBudget - optionBytes(sackBlocks: sackBlocksToSend) }

    /// The window field for a non-SYN segment; moves the announced right edge.
    func announceWindow() -> UInt16 {
        let scale = windowScalingEnabled ? Int(receiveWindowScale) : 0
        let current = max(receiveAdvertisedEdge - receiveNext, 0)
        var window = advertisableWindow
        // Receiver SWS avoidance: move the right edge only by a useful amount,
        // and never move it left (RFC 9293 3.8.6.2.2).
        let threshold = min(receiveBuffer.capacity / 2, sendMSS)
        if window < current || window - current < threshold { window = min(current, receiveRoom) }
        if window < current && current <= receiveRoom { window = current }
        let field = min(window >> scale, 65535)
        let edge = receiveNext + (field << scale)
        if receiveAdvertisedEdge < edge { receiveAdvertisedEdge = edge }
        return UInt16(field)
    }

    func makeSYN(now: TCPInstant) -> TCPOutgoingSegment {
        var flags: TCPFlags = [.syn]
        var synOptions = TCPOptions()
        synOptions.maximumSegmentSize = UInt16(min(localMSS, 65535))
        let window = UInt16(min(receiveRoom, 65535))
        if state == .synReceived {
            flags.insert(.ack)
            if windowScalingEnabled { synOptions.windowScale = receiveWindowScale }
            synOptions.sackPermitted = sackEnabled
            if timestampsEnabled { synOptions.timestamp = (timestampClock(now), timestampRecent) }
        } else {
            if options.windowScaling { synOptions.windowScale = receiveWindowScale }
            synOptions.sackPermitted = options.selectiveAcknowledgments
            if options.timestamps { synOptions.timestamp = (timestampClock(now), 0) }
        }
        receiveAdvertisedEdge = TCPSequenceNumber.latest(receiveAdvertisedEdge, receiveNext + Int(window))
        let repr = TCPRepr(
            sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
            sequenceNumber: initialSendSequence.rawValue,
            acknowledgmentNumber: flags.contains(.ack) ? receiveNext.rawValue : 0,
            flags: flags, window: window, options: synOptions)
        if synRetransmissions == 0 && rttSample == nil { rttSample = (initialSendSequence, now) }
        sendNext = initialSendSequence + 1
        sendMax = TCPSequenceNumber.latest(sendMax, sendNext)
        if flags.contains(.ack) { noteACKSent() }
        if retransmitDeadline == nil { retransmitDeadline = now + roundTrip.timeout }
        statistics.segmentsSent += 1
        return TCPOutgoingSegment(repr: repr, source: tuple.local.address, destination: tuple.remote.address)
    }

    /// A segment carrying an ACK (every segment after the SYN does).
    func makeSegment(sequence: TCPSequenceNumber, payloadLength: Int, flags: TCPFlags, now: TCPInstant,
                     isRetransmission: Bool) -> TCPOutgoingSegment {
        var segmentOptions = TCPOptions()
        if timestampsEnabled { segmentOptions.timestamp = (timestampClock(now), timestampRecent) }
        let blocks = sackBlocksToSend
        if blocks > 0 { segmentOptions.sackBlocks = reassembly.sackBlocks(limit: blocks) }
        var allFlags = flags
        if payloadLength > 0 && sequence + payloadLength == dataEnd { allFlags.insert(.psh) }
        let repr = TCPRepr(
            sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
            sequenceNumber: sequence.rawValue, acknowledgmentNumber: receiveNext.rawValue,
            flags: allFlags, window: announceWindow(), options: segmentOptions)
        noteACKSent()
        let length = payloadLength + (flags.contains(.fin) ? 1 : 0)
        if length > 0 {
            if isRetransmission {
                statistics.retransmittedSegments += 1
            } else if rttSample == nil && !timestampsEnabled {
                rttSample = (sequence, now)
            }
            if retransmitDeadline == nil { retransmitDeadline = now + roundTrip.timeout }
            persistDeadline = nil
            lastDataSentTime = now
        }
        var segment = TCPOutgoingSegment(
            repr: repr, source: tuple.local.address, destination: tuple.remote.address,
            payloadOffset: payloadLength > 0 ? sequence - dataStart : 0, payloadLength: payloadLength)
        // The options above go in front of every piece a device cuts.
        if payloadLength > 0 { segment.segmentSize = segmentBudget - optionBytes(sackBlocks: blocks) }
        statistics.segmentsSent += segment.wireSegments
        return segment
    }

    func noteACKSent() {
        ackNow = false
        if duplicateACKsOwed > 0 { duplicateACKsOwed -= 1 }
        delayedACKDeadline = nil
        bytesSinceLastACK = 0
        lastAcknowledgmentSent = receiveNext
    }

    /// Payload and FIN for a segment starting at `sequence`, limited to
    /// `maxPayload` bytes and to sequence numbers below `limit`.
    func span(at sequence: TCPSequenceNumber, maxPayload: Int, limit: TCPSequenceNumber?) -> (payload: Int, fin: Bool) {
        var payload = max(min(maxPayload, dataEnd - sequence), 0)
        if let limit { payload = max(min(payload, limit - sequence), 0) }
        var fin = false
        if let finAt = finSequence, sequence + payload == finAt {
            fin = limit.map { finAt < $0 } ?? true
        }
        return (payload, fin)
    }

    // MARK: Loss recovery

    /// The pipe of RFC 6675 (SACK) or the flight size (without SACK).
    var pipe: Int {
        let flight = sendNext - sendUnacknowledged
        guard sackEnabled && !scoreboard.isEmpty && flight > 0 else { return max(flight, 0) }
        let sacked = flight - scoreboard.unsackedBytes(from: sendUnacknowledged, to: sendNext)
        let lostNotResent: Int
        if inRecovery, let boundary = scoreboard.lossBoundary(mss: sendMSS, threshold: reorderingThreshold) {
            let from = TCPSequenceNumber.latest(highRetransmitted, sendUnacknowledged)
            lostNotResent = scoreboard.unsackedBytes(from: from, to: TCPSequenceNumber.earliest(boundary, sendMax))
        } else {
            lostNotResent = 0
        }
        return max(flight - sacked - lostNotResent, 0)
    }

    /// Fast retransmission, NewReno partial-ACK retransmission and SACK hole filling.
    func makeRetransmission(now: TCPInstant) -> TCPOutgoingSegment? {
        guard sendUnacknowledged < sendMax else {
            retransmitFirstPending = false
            return nil
        }
        if retransmitFirstPending {
            retransmitFirstPending = false
            let (payload, fin) = span(at: sendUnacknowledged, maxPayload: payloadBudget, limit: sendMax)
            if payload > 0 || fin {
                highRetransmitted = TCPSequenceNumber.latest(highRetransmitted, sendUnacknowledged + payload + (fin ? 1 : 0))
                if inRecovery {
                    unaRetransmissionMark = sendMax
                    lastRecovery?.retransmissions += 1
                }
                return makeSegment(sequence: sendUnacknowledged, payloadLength: payload,
                                   flags: fin ? [.ack, .fin] : [.ack], now: now, isRetransmission: true)
            }
        }
        guard inRecovery && sackEnabled, let boundary = scoreboard.lossBoundary(mss: sendMSS, threshold: reorderingThreshold) else { return nil }
        guard congestionWindow - pipe >= sendMSS else { return nil }
        let from = TCPSequenceNumber.latest(highRetransmitted, sendUnacknowledged)
        let limit = TCPSequenceNumber.earliest(boundary, sendMax)
        guard let hole = scoreboard.nextHole(from: from, limit: limit, maxLength: payloadBudget) else { return nil }
        let (payload, fin) = span(at: hole.start, maxPayload: hole.length, limit: sendMax)
        guard payload > 0 || fin else { return nil }
        highRetransmitted = hole.start + payload + (fin ? 1 : 0)
        if hole.start == sendUnacknowledged { unaRetransmissionMark = sendMax }
        lastRecovery?.retransmissions += 1
        return makeSegment(sequence: hole.start, payloadLength: payload,
                           flags: fin ? [.ack, .fin] : [.ack], now: now, isRetransmission: true)
    }

    // MARK: New data (and resending after a timeout)

    func makeNewData(now: TCPInstant) -> TCPOutgoingSegment? {
        guard state.isSynchronized else { return nil }
        // After a timeout SND.NXT < SND.MAX: skip what the peer SACKed.
        if sendNext < sendMax && !scoreboard.isEmpty {
            if let hole = scoreboard.nextHole(from: sendNext, limit: sendMax, maxLength: Int(Int32.max)) {
                sendNext = hole.start
            } else {
                sendNext = sendMax
            }
        }
        let resending = sendNext < sendMax
        let remaining = dataEnd - sendNext
        if remaining > 0 {
            // Limited Transmit (RFC 3042): the first two duplicate ACKs each
            // let one new segment out beyond cwnd, so that a small window
            // still produces the three duplicates fast retransmit needs.
            let limitedTransmit = inRecovery || resending ? 0 : min(duplicateACKs, 2) * sendMSS
            var usable = congestionWindow + recoveryInflation + limitedTransmit - pipe
            usable = min(usable, sendUnacknowledged + sendWindow - sendNext)
            if sendWindow == 0 || (sendUnacknowledged + sendWindow - sendNext) <= 0 {
                // Arm once: every segment or call that lands here must not push
                // the probe out and back it off again (the back-off grows per
                // probe, makeWindowProbe; RFC 9293 3.8.6.1).
                if sendUnacknowledged == sendMax && retransmitDeadline == nil && persistDeadline == nil
                    && !sendZeroWindowProbe {
                    armPersist(now: now)
                }
            }
            let budget = payloadBudget
            // TSO per family: a port may cut TCP over IPv4 and not over IPv6.
            let familyLimit = tuple.isIPv4 ? configuration.segmentationOffloadLimit
                : configuration.segmentationOffloadLimitIPv6
            let offloadLimit = resending ? 0 : familyLimit
            let maxPayload = min(max(budget, offloadLimit), usable)
            guard maxPayload > 0 else { return nil }
            let limit: TCPSequenceNumber? = resending ? nextSACKedStart(after: sendNext) : nil
            var (payload, fin) = span(at: sendNext, maxPayload: maxPayload, limit: limit)
            guard payload > 0 else { return nil }
            if payload > budget && payload < remaining {
                // TSO: whole MSS-sized pieces only, so that the device cuts
                // no small segment in the middle of the data (fin is false
                // here: it needs all the data).
                payload -= payload % budget
                fin = false
            }
            if !resending && !fin {
                // Nagle (RFC 896) and sender SWS avoidance (RFC 9293 3.8.6.2.1).
                let full = payload >= sendMSS
                let idle = sendUnacknowledged == sendMax
                let allQueued = payload == remaining
                let halfWindow = maximumSendWindow > 0 && payload >= maximumSendWindow / 2
                // Limited by the peer's window (not by our data): when nothing is in
                // flight this is sent at once rather than after an override timer,
                // which is at most one small segment per round trip.
                let windowLimited = payload == sendUnacknowledged + sendWindow - sendNext
                let pushAllowed = options.noDelay || idle
                guard full || (pushAllowed && (allQueued || halfWindow || windowLimited)) else { return nil }
            }
            return emitData(at: sendNext, payload: payload, fin: fin, resending: resending, now: now)
        }
        if let finAt = finSequence, sendNext == finAt {
            return emitData(at: sendNext, payload: 0, fin: true, resending: resending, now: now)
        }
        return nil
    }

    func nextSACKedStart(after sequence: TCPSequenceNumber) -> TCPSequenceNumber? {
        scoreboard.ranges.first { sequence < $0.start }?.start
    }

    func emitData(at sequence: TCPSequenceNumber, payload: Int, fin: Bool, resending: Bool, now: TCPInstant) -> TCPOutgoingSegment {
        if !resending && sendUnacknowledged == sendMax && now - lastDataSentTime > roundTrip.timeout
            && lastDataSentTime != .zero {
            congestion.onIdleRestart(mss: sendMSS)  // RFC 5681 4.1
        }
        let segment = makeSegment(sequence: sequence, payloadLength: payload, flags: fin ? [.ack, .fin] : [.ack],
                                  now: now, isRetransmission: resending)
        sendNext = sequence + payload + (fin ? 1 : 0)
        sendMax = TCPSequenceNumber.latest(sendMax, sendNext)
        if !resending && probeDeadline == nil { armTailLossProbe(now: now) }
        return segment
    }

    /// RFC 8985 7.3: a new segment if the peer's window allows, otherwise
    /// the last segment again, to draw an ACK (and SACK) out of a silent tail.
    func makeTailLossProbe(now: TCPInstant) -> TCPOutgoingSegment? {
        statistics.tailLossProbes += 1
        let windowRoom = sendUnacknowledged + sendWindow - sendNext
        if sendNext == sendMax && dataEnd - sendNext > 0 && windowRoom > 0 {
            let (payload, fin) = span(at: sendNext, maxPayload: min(payloadBudget, windowRoom), limit: nil)
            if payload > 0 {
                let segment = emitData(at: sendNext, payload: payload, fin: fin, resending: false, now: now)
                retransmitDeadline = now + roundTrip.timeout
                return segment
            }
        }
        let length = min(flightSize, payloadBudget)
        guard length > 0 else { return nil }
        var start = sendMax - length
        if let finAt = finSequence, finAt < sendMax, start == finAt + 1 - length, length > 1 { start = finAt - (length - 1) }
        start = TCPSequenceNumber.latest(start, dataStart)
        let (payload, fin) = span(at: start, maxPayload: payloadBudget, limit: sendMax)
        guard payload > 0 || fin else { return nil }
        rttSample = nil  // Karn
        let segment = makeSegment(sequence: start, payloadLength: payload, flags: fin ? [.ack, .fin] : [.ack],
                                  now: now, isRetransmission: true)
        retransmitDeadline = now + roundTrip.timeout
        return segment
    }

    /// One byte past a zero window (RFC 9293 3.8.6.1), or the byte at SND.UNA again.
    func makeWindowProbe(now: TCPInstant) -> TCPOutgoingSegment? {
        statistics.zeroWindowProbes += 1
        unansweredProbes += 1
        if sendUnacknowledged < sendMax {
            let (payload, fin) = span(at: sendUnacknowledged, maxPayload: 1, limit: sendMax)
            let segment = makeSegment(sequence: sendUnacknowledged, payloadLength: payload,
                                      flags: fin ? [.ack, .fin] : [.ack], now: now, isRetransmission: true)
            retransmitDeadline = nil
            armPersist(now: now)
            return segment
        }
        let (payload, fin) = span(at: sendNext, maxPayload: 1, limit: nil)
        guard payload > 0 || fin else { return nil }
        let segment = emitData(at: sendNext, payload: payload, fin: fin, resending: false, now: now)
        retransmitDeadline = nil  // the persist timer, not the retransmit timer, drives probes
        armPersist(now: now)
        return segment
    }
}
