/// RFC 5961 section 7 rate limit on challenge ACKs. Kept per connection
/// rather than per host: a host-wide counter is itself a side channel an
/// off-path attacker can observe (CVE-2016-5696).
struct TCPChallengeACKLimiter {
    let limitPerSecond: Int
    private var windowStart = TCPInstant.zero
    private var sentInWindow = 0

    init(limitPerSecond: Int) { self.limitPerSecond = limitPerSecond }

    /// True when one more challenge ACK may go out now.
    mutating func allow(now: TCPInstant) -> Bool {
        if now - windowStart >= .seconds(1) {
            windowStart = now
            sentInWindow = 0
        }
        guard sentInWindow < limitPerSecond else { return false }
        sentInWindow += 1
        return true
    }
}
