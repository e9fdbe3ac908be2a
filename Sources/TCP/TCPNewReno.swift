/// RFC 5681 congestion control with Appropriate Byte Counting (RFC 3465):
/// slow start grows cwnd by the bytes acknowledged (all of them, as Linux:
/// `slowStartWindow`), congestion avoidance by one SMSS per cwnd of
/// acknowledged bytes.
public struct TCPNewReno: TCPCongestionControl {
    public private(set) var congestionWindow: Int
    public private(set) var slowStartThreshold = Int(Int32.max)
    private var bytesAckedInAvoidance = 0

    public init(mss: Int) { congestionWindow = initialCongestionWindow(mss: mss) }

    /// Takes over a live connection's window and threshold (TCP_CONGESTION
    /// changed mid-connection, which Linux allows too).
    public init(mss: Int, window: Int, threshold: Int) {
        self.init(mss: mss)
        congestionWindow = max(window, mss)
        slowStartThreshold = threshold
    }

    public mutating func onAcknowledged(bytes: Int, mss: Int, now: TCPInstant, smoothedRTT: TCPDuration?) {
        if congestionWindow < slowStartThreshold {
            congestionWindow = slowStartWindow(congestionWindow, acknowledged: bytes, threshold: slowStartThreshold)
        } else {
            bytesAckedInAvoidance += bytes
            if bytesAckedInAvoidance >= congestionWindow {
                bytesAckedInAvoidance -= congestionWindow
                congestionWindow += mss
            }
        }
    }

    public mutating func onFastRecovery(flightSize: Int, mss: Int, now: TCPInstant) {
        slowStartThreshold = max(flightSize / 2, 2 * mss)
        congestionWindow = slowStartThreshold
        bytesAckedInAvoidance = 0
    }

    public mutating func onRecoveryEnd(flightSize: Int, mss: Int) {
        // RFC 6582 3.2 step 3, full ACK: deflate to min(ssthresh, FlightSize + SMSS).
        congestionWindow = max(min(slowStartThreshold, flightSize + mss), mss)
    }

    public mutating func onRetransmissionTimeout(flightSize: Int, mss: Int, now: TCPInstant) {
        slowStartThreshold = max(flightSize / 2, 2 * mss)
        congestionWindow = mss
        bytesAckedInAvoidance = 0
    }

    public mutating func onIdleRestart(mss: Int) {
        congestionWindow = min(congestionWindow, initialCongestionWindow(mss: mss))
    }
}
