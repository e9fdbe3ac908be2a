/// RFC 6528 initial sequence numbers, ISN = M + F(4-tuple, secret), where M
/// is a clock ticking every 4 microseconds and F a keyed hash, so ISNs of one
/// 4-tuple grow with time (old duplicates stay out of new incarnations) and
/// are unpredictable to anyone without the secret. Also gives each connection
/// its timestamp offset (RFC 7323 section 5.4), derived the same way so a
/// SYN-cookie connection can recompute it.
public struct TCPInitialSequenceNumbers: Sendable {
    let key: SipHashKey

    public init(key: SipHashKey) { self.key = key }

    public func initialSequenceNumber(for tuple: TCPFourTuple, now: TCPInstant) -> TCPSequenceNumber {
        let f = UInt32(truncatingIfNeeded: key.hash(tuple.hashWords, 1))
        let m = UInt32(truncatingIfNeeded: now.microseconds / 4)
        return TCPSequenceNumber(m &+ f)
    }

    public func timestampOffset(for tuple: TCPFourTuple) -> UInt32 {
        return UInt32(truncatingIfNeeded: key.hash(tuple.hashWords, 2))
    }
}
