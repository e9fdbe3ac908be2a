/// The retransmission timeout of RFC 6298: smoothed RTT and its variation
/// from samples, RTO = SRTT + max(G, 4 * RTTVAR) clamped to [minimum, maximum],
/// doubled on each expiry (back-off) until a new sample arrives. Karn's rule
/// (no samples from retransmitted segments) is the caller's side: it only
/// feeds samples from timestamps or from segments sent once.
public struct TCPRoundTripEstimator: Sendable {
    public private(set) var smoothedRTT: TCPDuration?
    public private(set) var rttVariation: TCPDuration = .zero
    public private(set) var backoffCount = 0
    public let minimum: TCPDuration
    public let maximum: TCPDuration
    public let initial: TCPDuration
    /// Clock granularity G.
    static let granularity = TCPDuration.milliseconds(1)

    public init(minimum: TCPDuration, maximum: TCPDuration, initial: TCPDuration) {
        self.minimum = minimum
        self.maximum = maximum
        self.initial = initial
    }

    /// The current timeout including back-off.
    public var timeout: TCPDuration {
        var base: TCPDuration
        if let srtt = smoothedRTT {
            let variation = max(Self.granularity, rttVariation * 4)
            base = srtt + variation
        } else {
            base = initial
        }
        base = min(max(base, minimum), maximum)
        var shifted = base
        for _ in 0..<min(backoffCount, 16) {
            shifted = shifted * 2
            if shifted >= maximum { return maximum }
        }
        return shifted
    }

    /// RFC 6298 section 2.2 / 2.3.
    public mutating func addSample(_ rtt: TCPDuration) {
        let r = rtt.microseconds
        if let srtt = smoothedRTT?.microseconds {
            let difference = srtt > r ? srtt - r : r - srtt
            rttVariation = TCPDuration(microseconds: (3 * rttVariation.microseconds + difference) / 4)
            smoothedRTT = TCPDuration(microseconds: (7 * srtt + r) / 8)
        } else {
            smoothedRTT = rtt
            rttVariation = TCPDuration(microseconds: r / 2)
        }
        backoffCount = 0
    }

    /// RFC 6298 section 5.5: the timer expired.
    public mutating func backOff() { backoffCount += 1 }

    /// Forgets the back-off once new data is acknowledged (RFC 6298 5.7 keeps
    /// it until a sample; a fresh ACK after back-off is as good a signal).
    mutating func resetBackoff() { backoffCount = 0 }
}
