import Wire

/// The checks an arriving segment passes before it counts: the options a
/// SYN negotiates, PAWS and timestamps (RFC 7323), sequence acceptability
/// (RFC 9293), and RST, SYN and ACK checks against blind attacks (RFC 5961).
extension TCPConnection {
    // MARK: Options

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

    /// Our timestamp clock: milliseconds plus the per-connection offset.
    func timestampClock(_ now: TCPInstant) -> UInt32 { now.milliseconds32 &+ timestampOffset }

    // MARK: Checks of a segment in a synchronized state

    /// PAWS (RFC 7323 5.3): old timestamps mark old duplicates (dropped,
    /// answered with an ACK).
    @inline(__always)
    func isOldDuplicateByTimestamp(_ segment: TCPRepr, now: TCPInstant) -> Bool {
        if timestampsEnabled, !segment.flags.contains(.rst), let stamp = segment.options.timestamp {
            let stale = now - timestampRecentTime > .seconds(24 * 24 * 3600)
            if Int32(bitPattern: stamp.value &- timestampRecent) < 0 && !stale {
                statistics.pawsDrops += 1
                ackNow = true
                return true
            }
        }
        return false
    }

    /// Acceptability (RFC 9293 3.10.7.4, first check); an unacceptable
    /// segment is answered with an ACK unless it is a RST.
    @inline(__always)
    func acceptsSequence(of segment: TCPRepr, sequence: TCPSequenceNumber, length segmentLength: Int,
                         now: TCPInstant) -> Bool {
        let flags = segment.flags
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
            return false
        }
        return true
    }

    /// RST (RFC 5961 section 3): exact match resets, in-window challenges.
    @inline(__always)
    func handleResetInWindow(sequence: TCPSequenceNumber, now: TCPInstant) {
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
    }

    /// SYN in a synchronized state (RFC 5961 section 4): challenge ACK.
    @inline(__always)
    func handleSYNInWindow(now: TCPInstant) {
        if state == .timeWait {
            ackNow = true
        } else {
            sendChallengeACK(now: now)
        }
    }

    /// ACK acceptability (RFC 5961 section 5): false (and an ACK or a
    /// challenge ACK) for an ACK of data never sent or too far back.
    @inline(__always)
    func acceptsAcknowledgment(_ ack: TCPSequenceNumber, now: TCPInstant) -> Bool {
        if sendMax < ack {
            ackNow = true
            return false
        }
        if ack < sendUnacknowledged - max(maximumSendWindow, 1) {
            sendChallengeACK(now: now)
            return false
        }
        return true
    }

    /// TS.Recent (RFC 7323 section 4.3).
    @inline(__always)
    func updateTimestampRecent(from segment: TCPRepr, sequence: TCPSequenceNumber, now: TCPInstant) {
        if timestampsEnabled, let stamp = segment.options.timestamp, !(lastAcknowledgmentSent < sequence) {
            timestampRecent = stamp.value
            timestampRecentTime = now
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
}
