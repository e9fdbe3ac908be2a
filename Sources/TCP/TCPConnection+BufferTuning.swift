import Wire

/// Buffer auto-tuning: the send and receive rings start at their socket
/// sizes (256 KiB) and grow while a transfer fills them every round trip,
/// up to `TCPConfiguration.maximumGrownBufferSize`, as Linux's rings do
/// (tcp_rcv_space_adjust, tcp_sndbuf_expand) and FreeBSD's
/// (net.inet.tcp.recvbuf_auto, sendbuf_auto). A fixed ring caps a bulk
/// transfer at ring / RTT: measured in the lab guest on 2026-12-07, a Linux
/// sender into our 256 KiB window spent 66-80% of its time limited by it,
/// against a Linux guest that had grown its window to 2-3 MiB.
///
/// Memory is still charged only as bytes are queued (TCPByteRing), so an
/// idle connection costs nothing more; setsockopt(SO_RCVBUF / SO_SNDBUF)
/// fixes that ring's size, as on Linux (SOCK_RCVBUF_LOCK).
extension TCPConnection {
    /// At the end of each receiver round trip (`noteReceiveRound`): doubles
    /// the receive ring when the application read more than 3/8 of it in
    /// that round trip. Counting what was read, as Linux's
    /// tcp_rcv_space_adjust counts what was copied, means a slow reader
    /// never grows its ring; 3/8 is FreeBSD's threshold (tcp_input.c): the
    /// sender is using most of the window we can offer, so the window, not
    /// the network, may be the limit.
    func adjustReceiveBuffer() {
        guard options.receiveBufferGrows, receiveBuffer.capacity < configuration.maximumGrownBufferSize else { return }
        if tuningBytesRead > receiveBuffer.capacity / 8 * 3 {
            receiveBuffer.grow(toCapacity: min(receiveBuffer.capacity * 2, configuration.maximumGrownBufferSize))
            statistics.receiveBufferGrowths += 1
        }
    }

    /// The round trip as a receiver sees it: how long ago we sent the
    /// timestamp the peer's latest segment echoes (RFC 7323 section 4,
    /// Linux's tcp_rcv_rtt_measure_ts), else the smoothed RTT of our own
    /// sends (from the handshake at least); at least a millisecond, the
    /// timestamp clock's tick, and at most a second.
    var receiverRoundTrip: TCPDuration {
        let sample = timestampsEnabled && echoedTimestampDelay > 0
            ? TCPDuration.milliseconds(UInt64(echoedTimestampDelay)) : (roundTrip.smoothedRTT ?? .zero)
        return min(max(sample, .milliseconds(1)), .seconds(1))
    }

    /// Notes the delay of the timestamp a segment echoes (TSecr).
    @inline(__always)
    func noteEchoedTimestamp(of segment: TCPRepr, now: TCPInstant) {
        guard timestampsEnabled, let stamp = segment.options.timestamp, stamp.echoReply != 0 else { return }
        let elapsed = Int32(bitPattern: timestampClock(now) &- stamp.echoReply)
        if elapsed >= 0 { echoedTimestampDelay = UInt32(elapsed) }
    }

    /// Called when an application's write found the send ring full: doubles
    /// the ring when what the network would take in flight (the congestion
    /// window and the peer's window) is more than half of it, as Linux
    /// keeps its send buffer at twice the congestion window. True when it grew.
    func growSendBufferIfNetworkTakesMore() -> Bool {
        guard options.sendBufferGrows, sendBuffer.capacity < configuration.maximumGrownBufferSize else { return false }
        guard min(congestionWindow, sendWindow) > sendBuffer.capacity / 2 else { return false }
        sendBuffer.grow(toCapacity: min(sendBuffer.capacity * 2, configuration.maximumGrownBufferSize))
        statistics.sendBufferGrowths += 1
        return true
    }
}
