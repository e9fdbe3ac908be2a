/// The one small protocol behind which congestion control algorithms sit.
/// The connection owns loss detection and recovery (RFC 6675 / RFC 6582) and
/// tells the algorithm what happened; the algorithm owns cwnd and ssthresh.
/// All sizes are bytes.
public protocol TCPCongestionControl: Sendable {
    var congestionWindow: Int { get }
    var slowStartThreshold: Int { get }
    /// New data was cumulatively acknowledged outside recovery.
    mutating func onAcknowledged(bytes: Int, mss: Int, now: TCPInstant, smoothedRTT: TCPDuration?)
    /// Loss detected by duplicate ACKs or SACK: entering fast recovery.
    /// Sets ssthresh and cwnd for recovery (RFC 5681 3.2 step 2 / RFC 9438 4.6).
    mutating func onFastRecovery(flightSize: Int, mss: Int, now: TCPInstant)
    /// Fast recovery ended by a full ACK.
    mutating func onRecoveryEnd(flightSize: Int, mss: Int)
    /// The retransmission timer expired (RFC 5681 (4), cwnd to the loss window).
    mutating func onRetransmissionTimeout(flightSize: Int, mss: Int, now: TCPInstant)
    /// cwnd after an idle period (RFC 5681 4.1: restart window).
    mutating func onIdleRestart(mss: Int)
}

/// Which algorithm a connection uses.
public enum TCPCongestionAlgorithm: Sendable, Hashable {
    case newReno
    case cubic
}

/// The algorithms as one value type: a closed set dispatched by a switch, so a
/// connection holds its controller inline (no existential box, no allocation).
public enum TCPCongestionController: TCPCongestionControl {
    case newReno(TCPNewReno)
    case cubic(TCPCubic)

    public init(_ algorithm: TCPCongestionAlgorithm, mss: Int) {
        switch algorithm {
        case .newReno: self = .newReno(TCPNewReno(mss: mss))
        case .cubic: self = .cubic(TCPCubic(mss: mss))
        }
    }

    /// `algorithm` taking over from `previous` with its window and threshold.
    public init(_ algorithm: TCPCongestionAlgorithm, mss: Int, continuing previous: TCPCongestionController) {
        let window = previous.congestionWindow, threshold = previous.slowStartThreshold
        switch algorithm {
        case .newReno: self = .newReno(TCPNewReno(mss: mss, window: window, threshold: threshold))
        case .cubic: self = .cubic(TCPCubic(mss: mss, window: window, threshold: threshold))
        }
    }

    public var algorithm: TCPCongestionAlgorithm {
        switch self {
        case .newReno: .newReno
        case .cubic: .cubic
        }
    }

    public var congestionWindow: Int {
        switch self {
        case .newReno(let c): c.congestionWindow
        case .cubic(let c): c.congestionWindow
        }
    }

    public var slowStartThreshold: Int {
        switch self {
        case .newReno(let c): c.slowStartThreshold
        case .cubic(let c): c.slowStartThreshold
        }
    }

    public mutating func onAcknowledged(bytes: Int, mss: Int, now: TCPInstant, smoothedRTT: TCPDuration?) {
        switch self {
        case .newReno(var c): c.onAcknowledged(bytes: bytes, mss: mss, now: now, smoothedRTT: smoothedRTT); self = .newReno(c)
        case .cubic(var c): c.onAcknowledged(bytes: bytes, mss: mss, now: now, smoothedRTT: smoothedRTT); self = .cubic(c)
        }
    }

    public mutating func onFastRecovery(flightSize: Int, mss: Int, now: TCPInstant) {
        switch self {
        case .newReno(var c): c.onFastRecovery(flightSize: flightSize, mss: mss, now: now); self = .newReno(c)
        case .cubic(var c): c.onFastRecovery(flightSize: flightSize, mss: mss, now: now); self = .cubic(c)
        }
    }

    public mutating func onRecoveryEnd(flightSize: Int, mss: Int) {
        switch self {
        case .newReno(var c): c.onRecoveryEnd(flightSize: flightSize, mss: mss); self = .newReno(c)
        case .cubic(var c): c.onRecoveryEnd(flightSize: flightSize, mss: mss); self = .cubic(c)
        }
    }

    public mutating func onRetransmissionTimeout(flightSize: Int, mss: Int, now: TCPInstant) {
        switch self {
        case .newReno(var c): c.onRetransmissionTimeout(flightSize: flightSize, mss: mss, now: now); self = .newReno(c)
        case .cubic(var c): c.onRetransmissionTimeout(flightSize: flightSize, mss: mss, now: now); self = .cubic(c)
        }
    }

    public mutating func onIdleRestart(mss: Int) {
        switch self {
        case .newReno(var c): c.onIdleRestart(mss: mss); self = .newReno(c)
        case .cubic(var c): c.onIdleRestart(mss: mss); self = .cubic(c)
        }
    }
}

/// Slow start's growth for `bytes` newly acknowledged: all of them, up to
/// the threshold, however few ACKs carried them. RFC 3465's limit of
/// L = 2 SMSS per ACK assumed an ACK every segment or two; a receiver with
/// GRO or LRO (Linux, and this stack's TCPReceiveCoalescer) acknowledges a
/// coalesced burst of up to 64 KiB at once, and with L = 2 the window grew
/// by two segments per such ACK instead of doubling each round trip. Linux
/// counts every acknowledged segment (net/ipv4/tcp_cong.c, tcp_slow_start,
/// since the 2015 "stretch ACK" fixes); so does this.
func slowStartWindow(_ window: Int, acknowledged bytes: Int, threshold: Int) -> Int {
    min(window + bytes, max(threshold, window))
}

/// RFC 5681 section 3.1: the initial window (RFC 6928's 10 segments are
/// widely deployed; we stay with the RFC 5681 formula for conformance).
func initialCongestionWindow(mss: Int) -> Int {
    if mss > 2190 { return 2 * mss }
    if mss > 1095 { return 3 * mss }
    return 4 * mss
}
