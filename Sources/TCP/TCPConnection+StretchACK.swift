import Wire

/// Stretch ACKs for a bulk receiver. RFC 9293 (3.8.6.3) asks for an ACK
/// at least every second full-sized segment; a receiver that coalesces
/// (GRO) already acknowledges a whole coalesced run at once, and Linux's
/// receivers, whose NAPI polls drain more frames per run, send about one
/// ACK per 60 segments of a bulk transfer into the lab guest (its peer's
/// TCP_INFO, 2026-12-07), against our one per 16 — one per poll turn.
///
/// Each ACK costs the sender's host, and the guest, a transmit: in the
/// lab's TCG guest the e1000 transmit of one ACK runs QEMU's device model,
/// the tap write and the peer kernel's whole ACK processing (tcp_ack, then
/// the segments it releases) on the receiving vCPU's own thread (perf, 15%
/// of that thread's time during an e1000 transfer into the guest).
///
/// So while a flow delivers plenty per round trip, the receiver lets the
/// bytes owed an ACK grow to a quarter of what arrived in the last round
/// trip, at most 64 KiB (a full coalesced super-segment, as Linux's GRO
/// receiver acknowledges): the sender, whose flight is at least that
/// round's bytes, keeps three quarters of it in the network while the
/// ACK waits. Once two segments are owed, a held ACK leaves within a timer
/// tick if no more data comes, and anything that needs an ACK now still
/// gets one (a hole filled, out-of-order data, a FIN, a window the reader
/// reopened by as much). Slow start's first rounds, and any flow slower
/// than 8 segments per round trip, keep RFC 9293's ACK per two segments.
/// `TCPConfiguration.stretchACKs` turns it off.
extension TCPConnection {
    /// The most in-order bytes an ACK may wait for (a 64 KiB coalesced run).
    static let maximumStretch = 65_535

    /// In-order bytes received before an ACK is owed.
    var acknowledgmentThreshold: Int {
        let twoSegments = 2 * sendMSS
        guard configuration.stretchACKs else { return twoSegments }
        return max(twoSegments, min(bytesReceivedLastRound / 4, Self.maximumStretch))
    }

    /// After in-order data: ACK now, hold a stretched ACK for at most a
    /// timer tick, or delay it as RFC 9293 allows for a lone segment.
    func scheduleAcknowledgment(hadHoles: Bool, now: TCPInstant) {
        if hadHoles || bytesSinceLastACK >= acknowledgmentThreshold {
            ackNow = true
        } else if bytesSinceLastACK >= 2 * sendMSS {
            // Owed by the two-segment rule, held for the stretch: not for long.
            let held = now + Self.stretchedACKDelay
            if delayedACKDeadline.map({ held < $0 }) ?? true { delayedACKDeadline = held }
        } else if delayedACKDeadline == nil {
            delayedACKDeadline = now + configuration.delayedACKTimeout
        }
    }

    /// How long a stretched ACK may wait for more data: one tick of the
    /// timer wheel (1 ms), against round trips of several in a bulk flow.
    static let stretchedACKDelay = TCPDuration.milliseconds(1)

    /// At in-order data: counts the bytes of the receiver's round trip
    /// (`receiverRoundTrip`), and when it has passed, keeps them for the
    /// stretch and lets buffer tuning see what was read in it.
    func noteReceiveRound(received: Int, now: TCPInstant) {
        roundBytesReceived &+= received
        guard !(now - tuningIntervalStart < receiverRoundTrip) else { return }
        bytesReceivedLastRound = roundBytesReceived
        adjustReceiveBuffer()
        tuningIntervalStart = now
        tuningBytesRead = 0
        roundBytesReceived = 0
    }
}
