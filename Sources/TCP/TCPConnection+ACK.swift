import Wire

/// ACK processing: what the ACK field, the window and SACK blocks tell
/// about our sending: RTT samples, congestion control, loss recovery.
extension TCPConnection {
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
}
