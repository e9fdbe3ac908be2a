/// Per-connection settings (the socket options). Chosen at open time; the
/// socket layer may change the run-time ones (`noDelay`, keepalive) later.
public struct TCPConnectionOptions: Sendable, Hashable {
    /// Bytes of the send ring.
    public var sendBufferSize = 256 * 1024
    /// Bytes of the receive ring; also bounds the advertised window.
    public var receiveBufferSize = 256 * 1024
    /// The rings start at the sizes above and grow while a transfer fills
    /// them every round trip, up to `TCPConfiguration.maximumGrownBufferSize`
    /// (TCPConnection+BufferTuning.swift). setsockopt(SO_RCVBUF / SO_SNDBUF)
    /// turns the growth of that ring off, as on Linux.
    public var receiveBufferGrows = true
    public var sendBufferGrows = true
    /// TCP_NODELAY: send small segments at once instead of Nagle's waiting.
    public var noDelay = false
    /// SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT.
    public var keepAlive = false
    public var keepAliveIdle = TCPDuration.seconds(7200)
    public var keepAliveInterval = TCPDuration.seconds(75)
    public var keepAliveCount = 9
    public var congestionControl = TCPCongestionAlgorithm.newReno
    /// Offer and use these options in the handshake.
    public var windowScaling = true
    public var timestamps = true
    public var selectiveAcknowledgments = true
    /// TCP_MAXSEG: caps the MSS we announce and send with (nil: from the MTU).
    public var maximumSegmentSize: Int?
    /// IP_TTL and IP_TOS of the connection's packets.
    public var timeToLive: UInt8 = 64
    public var typeOfService: UInt8 = 0

    public init() {}
}

/// Stack-wide TCP settings; read-only once the table is running.
public struct TCPConfiguration: Sendable, Hashable {
    /// The interface MTU: our MSS is MTU - 40, and segments never exceed it.
    public var mtu = 1500
    public var minimumRTO = TCPDuration.milliseconds(200)
    public var maximumRTO = TCPDuration.seconds(60)
    public var initialRTO = TCPDuration.seconds(1)
    /// Retransmissions of data before the connection fails with timedOut.
    public var maximumRetransmissions = 15
    /// Retransmissions of SYN / SYN-ACK before giving up.
    public var maximumSYNRetransmissions = 6
    public var delayedACKTimeout = TCPDuration.milliseconds(40)
    /// Stretch ACKs up to 64 KiB while a flow delivers plenty per round
    /// trip (TCPConnection+StretchACK.swift); false: one ACK per two segments.
    public var stretchACKs = true
    /// Maximum segment lifetime; TIME-WAIT lasts twice this.
    public var maximumSegmentLifetime = TCPDuration.seconds(30)
    /// How long an orphaned (closed by the application) connection may sit in FIN-WAIT-2.
    public var finWait2Timeout = TCPDuration.seconds(60)
    /// Out-of-order ranges kept per connection (the rest are dropped). 8 was
    /// too few against Linux through 22% reordering (about 2% of segments
    /// received were dropped for want of a range); 32 cost a few hundred bytes.
    public var maximumOutOfOrderRanges = 32
    /// SACK ranges remembered per connection on the send side.
    public var maximumSACKScoreboardRanges = 32
    /// RFC 5961 challenge ACKs allowed per connection per second.
    public var challengeACKsPerSecond = 10
    /// Minimum and maximum persist (zero window probe) interval.
    public var minimumPersistInterval = TCPDuration.milliseconds(200)
    public var maximumPersistInterval = TCPDuration.seconds(60)
    /// Ephemeral ports for active opens (IANA's suggested range).
    public var ephemeralPorts: ClosedRange<UInt16> = 49152...65535
    /// Maximum TIME-WAIT entries; the oldest is dropped beyond this.
    public var maximumTimeWaitEntries = 262_144
    /// RSTs and cookie SYN-ACKs (segments of no connection) queued at most;
    /// more are dropped and counted (`controlQueueDrops`). The queue is
    /// reserved up front (no allocation per segment).
    public var controlQueueLimit = 4096
    /// Answer SYNs with SYN cookies when a listener's backlog is full.
    public var synCookies = true
    /// Bytes per chunk of the connections' send and receive rings (memory is
    /// charged a chunk at a time as data is queued, see `TCPByteRing`).
    public var ringChunkSize = 4096
    /// The most a ring grows to by auto-tuning (Linux's tcp_rmem[2] is 6 MiB
    /// and tcp_wmem[2] 4 MiB; FreeBSD's recvbuf_max and sendbuf_max 2 MiB).
    /// The window scale offered in the handshake covers it.
    public var maximumGrownBufferSize = 4 << 20
    /// Bytes of ring chunks all connections of the core may hold at once;
    /// beyond it windows shrink and sends return EAGAIN.
    public var bufferBudgetBytes = 1 << 30
    /// Free chunks the core keeps for reuse (more go back to the system).
    public var cachedRingChunks = 4096
    /// Segments may come with their packet buffer lent (the table's
    /// `handle(...lending:)`): windows announce 5/8 of the receive room,
    /// and in-order payloads that fill 5/8 of their buffer stay in it
    /// instead of being copied (TCPConnection+Lending.swift); NetStack then
    /// lends its received packets. Off by default (windows are the whole
    /// room); DataplaneNIO's stacks turn it on.
    public var receiveLending = false
    /// Options for connections and listeners opened without their own
    /// (the per-stack choice of buffers, congestion control, ...).
    public var defaultConnectionOptions = TCPConnectionOptions()
    /// Largest TCP payload of one outgoing segment when the device cuts it
    /// into MSS-sized ones (TSO); 0: one MSS per segment. The stack sets it
    /// from its interfaces' offloads. New data only: retransmissions,
    /// probes and resends after a timeout stay one MSS.
    public var segmentationOffloadLimit = 0
    /// The same for connections over IPv6 (the device cuts TCP over IPv6:
    /// virtio HOST_TSO6); 0: one MSS per segment.
    public var segmentationOffloadLimitIPv6 = 0

    /// The window scale we offer (RFC 7323 section 2.3): the smallest that
    /// lets the 16-bit window field cover the largest the receive ring may
    /// grow to.
    public func receiveWindowScale(for options: TCPConnectionOptions) -> UInt8 {
        let largest = options.receiveBufferGrows
            ? max(options.receiveBufferSize, maximumGrownBufferSize) : options.receiveBufferSize
        var scale: UInt8 = 0
        while scale < 14 && (largest >> Int(scale)) > 65535 { scale += 1 }
        return scale
    }

    /// The ceiling of `segmentationOffloadLimit`: an IPv4 datagram is at
    /// most 65535 bytes, less the IPv4 and largest TCP header.
    public static let largestOffloadedPayload = 65535 - 20 - 60
    /// The ceiling of `segmentationOffloadLimitIPv6`: the IPv6 payload
    /// length (16 bits, the fixed header not counted; no jumbogram, RFC
    /// 2675, so no hop-by-hop header) less the largest TCP header.
    public static let largestOffloadedPayloadIPv6 = 65535 - 60

    public init() {}

    /// The MSS we announce over IPv4: the MTU less the IPv4 and TCP headers.
    public var localMSS: Int { max(mtu - 40, 88) }

    /// The MSS we announce for a family: over IPv6 the MTU less 60 (the
    /// 40-byte IPv6 header, RFC 8200 §8.3).
    @inlinable public func localMSS(ipv4: Bool) -> Int { ipv4 ? localMSS : max(mtu - 60, 88) }
}
