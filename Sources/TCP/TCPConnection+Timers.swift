extension TCPConnection {
    /// The earliest time the connection needs `poll(now:)`; nil when idle.
    public var nextDeadline: TCPInstant? {
        var deadline = retransmitDeadline
        deadline = deadline.earliest(delayedACKDeadline)
        deadline = deadline.earliest(persistDeadline)
        deadline = deadline.earliest(probeDeadline)
        deadline = deadline.earliest(keepAliveDeadline)
        deadline = deadline.earliest(timeWaitDeadline)
        deadline = deadline.earliest(finWait2Deadline)
        return deadline
    }

    /// Something to send is waiting (the stack should call `nextSegment`).
    public var hasOutputPending: Bool {
        pendingReset != nil || ackNow || duplicateACKsOwed > 0 || sendKeepAliveProbe || sendZeroWindowProbe || retransmitFirstPending
            || (state.isSynchronized && (dataEnd - sendNext > 0 || (finSequence.map { sendNext == $0 } ?? false)))
            || ((state == .synSent || state == .synReceived) && sendNext == initialSendSequence)
    }

    /// Fires every timer whose deadline has passed.
    public func poll(now: TCPInstant) {
        if let deadline = delayedACKDeadline, deadline <= now {
            delayedACKDeadline = nil
            ackNow = true
        }
        if let deadline = probeDeadline, deadline <= now {
            probeDeadline = nil
            if state.isSynchronized && sendUnacknowledged < sendMax && !inRecovery && !tailLossProbeOutstanding {
                tailLossProbePending = true
                tailLossProbeOutstanding = true
            }
        }
        if let deadline = retransmitDeadline, deadline <= now {
            retransmitDeadline = nil
            retransmissionTimedOut(now: now)
        }
        if let deadline = persistDeadline, deadline <= now {
            persistDeadline = nil
            if unansweredProbes >= configuration.maximumRetransmissions {
                enterClosed(error: .timedOut)
                return
            }
            if sendWindow == 0 { sendZeroWindowProbe = true }
        }
        if let deadline = keepAliveDeadline, deadline <= now {
            keepAliveDeadline = nil
            keepAliveTimedOut(now: now)
        }
        if let deadline = finWait2Deadline, deadline <= now {
            finWait2Deadline = nil
            if state == .finWait2 { enterClosed(error: nil) }
        }
        if let deadline = timeWaitDeadline, deadline <= now {
            timeWaitDeadline = nil
            if state == .timeWait { enterClosed(error: nil) }
        }
    }

    /// RFC 6298 section 5.4-5.7 plus RFC 5681 (4): back off, go back to SND.UNA.
    func retransmissionTimedOut(now: TCPInstant) {
        switch state {
        case .synSent, .synReceived:
            synRetransmissions += 1
            if synRetransmissions > configuration.maximumSYNRetransmissions {
                if state == .synReceived && passiveOpen {
                    enterClosed(error: nil)
                } else {
                    enterClosed(error: .timedOut)
                }
                return
            }
            roundTrip.backOff()
            rttSample = nil
            sendNext = initialSendSequence
            statistics.retransmissionTimeouts += 1
            statistics.retransmittedSegments += 1
            return
        case .closed, .listen, .timeWait:
            return
        default:
            break
        }
        guard sendUnacknowledged < sendMax else { return }
        probeDeadline = nil
        tailLossProbePending = false  // the timeout retransmits anyway
        if sendWindow == 0 && now - lastACKReceivedTime < roundTrip.timeout * 2 {
            // The peer is alive and closed its window: probe instead of counting a loss.
            armPersist(now: now)
            return
        }
        retransmissionCount += 1
        if retransmissionCount > configuration.maximumRetransmissions {
            enterClosed(error: .timedOut)
            return
        }
        statistics.retransmissionTimeouts += 1
        if retransmissionCount == 1 {
            congestion.onRetransmissionTimeout(flightSize: flightSize, mss: sendMSS, now: now)
        } else {
            // Repeated timeouts: the peer may have reneged on SACKed data.
            scoreboard.removeAll()
            congestion.onRetransmissionTimeout(flightSize: 2 * sendMSS, mss: sendMSS, now: now)
        }
        roundTrip.backOff()
        rttSample = nil
        inRecovery = false
        recoveryInflation = 0
        duplicateACKs = 0
        retransmitFirstPending = false
        unaRetransmissionMark = nil
        lastRecovery = nil  // a timeout is a loss no D-SACK can undo
        recoveryPoint = sendMax
        highRetransmitted = sendUnacknowledged
        sendNext = sendUnacknowledged
        retransmitDeadline = now + roundTrip.timeout
    }

    /// RFC 8985 7.2: PTO = 2 * SRTT (plus a delayed-ACK allowance when only
    /// one segment is out), only when it would fire before the RTO.
    func armTailLossProbe(now: TCPInstant) {
        probeDeadline = nil
        guard let srtt = roundTrip.smoothedRTT, !inRecovery, !tailLossProbeOutstanding,
              sendUnacknowledged < sendMax, state.isSynchronized else { return }
        var timeout = max(srtt * 2, .milliseconds(10))
        if flightSize <= sendMSS { timeout = timeout + .milliseconds(200) }
        let deadline = now + timeout
        if let rto = retransmitDeadline, !(deadline < rto) { return }
        probeDeadline = deadline
    }

    func armPersist(now: TCPInstant) {
        var interval = max(roundTrip.timeout, configuration.minimumPersistInterval)
        for _ in 0..<min(persistBackoff, 16) { interval = interval * 2 }
        interval = min(interval, configuration.maximumPersistInterval)
        persistBackoff += 1
        persistDeadline = now + interval
    }

    func armKeepAlive(now: TCPInstant) {
        guard options.keepAlive, state.isSynchronized, state != .timeWait else {
            keepAliveDeadline = nil
            return
        }
        keepAliveDeadline = now + options.keepAliveIdle
    }

    func keepAliveTimedOut(now: TCPInstant) {
        guard options.keepAlive, state.isSynchronized, state != .timeWait else { return }
        if sendUnacknowledged < sendMax {
            // Data in flight: the retransmission timer watches the peer.
            keepAliveDeadline = now + options.keepAliveIdle
            return
        }
        if keepAliveProbesSent >= options.keepAliveCount {
            enterClosed(error: .timedOut)
            return
        }
        keepAliveProbesSent += 1
        sendKeepAliveProbe = true
        keepAliveDeadline = now + options.keepAliveInterval
    }

    /// Changes the run-time socket options (buffer sizes stay as opened).
    public func setOptions(_ newOptions: TCPConnectionOptions, now: TCPInstant) {
        let keepAliveChanged = newOptions.keepAlive != options.keepAlive || newOptions.keepAliveIdle != options.keepAliveIdle
        var updated = newOptions
        updated.sendBufferSize = options.sendBufferSize
        updated.receiveBufferSize = options.receiveBufferSize
        // SO_RCVBUF / SO_SNDBUF on a live connection stop the growth (the
        // ring keeps what it has), as Linux locks its buffer sizes.
        updated.receiveBufferGrows = options.receiveBufferGrows && newOptions.receiveBufferGrows
        updated.sendBufferGrows = options.sendBufferGrows && newOptions.sendBufferGrows
        if state != .closed && newOptions.congestionControl != options.congestionControl {
            // TCP_CONGESTION on a live connection: the new algorithm goes on
            // from the current window; an undo must not bring the old one back.
            congestion = TCPCongestionController(newOptions.congestionControl, mss: sendMSS, continuing: congestion)
            lastRecovery = nil
        }
        options = updated
        if keepAliveChanged { armKeepAlive(now: now) }
    }
}
