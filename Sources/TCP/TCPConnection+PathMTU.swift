import Wire

/// Path MTU discovery for TCP (RFC 8201 §4 for IPv6, RFC 9293 §3.7.3):
/// a Packet Too Big lowers the largest segment toward the peer, and what
/// was in flight (sent too large, so dropped on the path) is sent again at
/// the new size at once, without a congestion response: the loss says
/// nothing about congestion (as Linux's tcp_simple_retransmit).
extension TCPConnection {
    /// The IP and TCP headers below the segment budget.
    var headerBytes: Int { (tuple.isIPv4 ? IPv4Packet.minimumHeaderLength : IPv6Packet.headerLength) + TCPSegment.minimumHeaderLength }

    /// The path toward the peer now carries at most `mtu` bytes per packet.
    /// Returns true when segments got smaller.
    @discardableResult
    public func pathMTUDecreased(to mtu: Int, now: TCPInstant) -> Bool {
        let budget = max(mtu - headerBytes, 64)
        guard budget < segmentBudget else { return false }
        pathSegmentBudget = budget
        guard state.isSynchronized, sendUnacknowledged < sendMax else { return true }
        // Go back to SND.UNA: the segments past it were too large.
        sendNext = sendUnacknowledged
        highRetransmitted = sendUnacknowledged
        retransmitFirstPending = false
        statistics.pathMTURetransmissions += 1
        if retransmitDeadline == nil { retransmitDeadline = now + roundTrip.timeout }
        return true
    }
}
