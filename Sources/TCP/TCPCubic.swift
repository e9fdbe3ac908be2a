#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CUBIC (RFC 9438): after a loss the window follows
/// W(t) = C * (t - K)^3 + W_max, with a Reno-friendly estimate as a floor.
/// Slow start with ABC as in NewReno. Windows are in bytes outside, in
/// segments inside the cubic function as the RFC writes it.
public struct TCPCubic: TCPCongestionControl {
    static let c = 0.4
    static let beta = 0.7

    public private(set) var congestionWindow: Int
    public private(set) var slowStartThreshold = Int(Int32.max)
    /// W_max in segments, the window just before the last reduction.
    private var windowMax = 0.0
    private var k = 0.0
    private var epochStart: TCPInstant? = nil
    /// W_est in segments.
    private var renoEstimate = 0.0

    public init(mss: Int) { congestionWindow = initialCongestionWindow(mss: mss) }

    /// Takes over a live connection's window and threshold (TCP_CONGESTION
    /// changed mid-connection); the cubic epoch starts at the next ACK.
    public init(mss: Int, window: Int, threshold: Int) {
        self.init(mss: mss)
        congestionWindow = max(window, mss)
        slowStartThreshold = threshold
    }

    public mutating func onAcknowledged(bytes: Int, mss: Int, now: TCPInstant, smoothedRTT: TCPDuration?) {
        if congestionWindow < slowStartThreshold {
            congestionWindow = slowStartWindow(congestionWindow, acknowledged: bytes, threshold: slowStartThreshold)
            return
        }
        let segmentSize = Double(mss)
        let cwnd = Double(congestionWindow) / segmentSize
        if epochStart == nil {
            // RFC 9438 4.2: a new congestion avoidance epoch.
            epochStart = now
            if windowMax < cwnd {
                k = 0
                windowMax = cwnd
            } else {
                k = cbrt((windowMax - cwnd) / Self.c)
            }
            renoEstimate = cwnd
        }
        let rtt = smoothedRTT?.seconds ?? 0.1
        let t = (now - epochStart!).seconds
        let target = min(max(Self.c * pow(t + rtt - k, 3) + windowMax, cwnd), 1.5 * cwnd)
        // Reno-friendly region, RFC 9438 4.3 (alpha = 1 once above W_max).
        let alpha = renoEstimate >= windowMax ? 1.0 : 3 * (1 - Self.beta) / (1 + Self.beta)
        renoEstimate += alpha * (Double(bytes) / segmentSize) / cwnd
        var next: Double
        if target < renoEstimate {
            next = renoEstimate
        } else {
            next = cwnd + (target - cwnd) / cwnd * (Double(bytes) / segmentSize)
        }
        next = max(next, cwnd)
        congestionWindow = max(Int(next * segmentSize), mss)
    }

    private mutating func reduce(mss: Int) {
        let cwnd = Double(congestionWindow) / Double(mss)
        // Fast convergence, RFC 9438 4.7.
        windowMax = cwnd < windowMax ? cwnd * (1 + Self.beta) / 2 : cwnd
        slowStartThreshold = max(Int(cwnd * Self.beta * Double(mss)), 2 * mss)
        epochStart = nil
    }

    public mutating func onFastRecovery(flightSize: Int, mss: Int, now: TCPInstant) {
        reduce(mss: mss)
        congestionWindow = slowStartThreshold
    }

    public mutating func onRecoveryEnd(flightSize: Int, mss: Int) {
        congestionWindow = max(min(slowStartThreshold, flightSize + mss), mss)
    }

    public mutating func onRetransmissionTimeout(flightSize: Int, mss: Int, now: TCPInstant) {
        reduce(mss: mss)
        congestionWindow = mss
    }

    public mutating func onIdleRestart(mss: Int) {
        congestionWindow = min(congestionWindow, initialCongestionWindow(mss: mss))
        epochStart = nil
    }
}
