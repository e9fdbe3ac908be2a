/// SYN cookies: when a listener's SYN backlog is full, the SYN-ACK's ISN
/// carries everything needed to make the connection from the final ACK, and
/// nothing is stored. Layout of the 32-bit cookie (before adding the
/// client's ISN):
///
///     31..27  time counter (64 s periods, modulo 32)
///     26..24  index into the MSS table
///     23..20  window scale of the peer (15 = the SYN carried none)
///     19      SACK permitted
///     18..0   keyed hash of 4-tuple, client ISN, counter and bits 26..19
///
/// A cookie is valid for the current and the previous period.
public struct TCPSYNCookies: Sendable {
    public struct Decoded: Sendable, Hashable {
        public var maximumSegmentSize: UInt16
        /// The peer's window scale; nil when its SYN had no option.
        public var windowScale: UInt8?
        public var sackPermitted: Bool
    }

    /// MSS values a cookie can express (the largest not above the peer's is used).
    static let mssTable: [UInt16] = [536, 1200, 1360, 1400, 1440, 1460, 4312, 8960]
    static let period = TCPDuration.seconds(64)

    let key: SipHashKey

    public init(key: SipHashKey) { self.key = key }

    private func counter(_ now: TCPInstant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.microseconds / Self.period.microseconds)
    }

    private func mac(tuple: TCPFourTuple, clientISN: TCPSequenceNumber, counter: UInt32, fields: UInt32) -> UInt32 {
        // Bit 31 keeps the cookie's domain apart from the ISN's (extra 1 and 2).
        let c = UInt64(clientISN.rawValue) << 32 | 1 << 31 | UInt64(counter & 0x1f) << 8 | UInt64(fields)
        return UInt32(truncatingIfNeeded: key.hash(tuple.hashWords, c)) & 0x7ffff
    }

    /// The ISN for our SYN-ACK.
    public func make(tuple: TCPFourTuple, clientISN: TCPSequenceNumber, mss: UInt16, windowScale: UInt8?,
                     sackPermitted: Bool, now: TCPInstant) -> TCPSequenceNumber {
        let index = UInt32(Self.mssTable.lastIndex { $0 <= mss } ?? 0)
        let scale = UInt32(min(windowScale ?? 15, 15))
        let fields = index << 5 | scale << 1 | (sackPermitted ? 1 : 0)
        let t = counter(now) & 0x1f
        let cookie = t << 27 | fields << 19 | mac(tuple: tuple, clientISN: clientISN, counter: t, fields: fields)
        return TCPSequenceNumber(cookie &+ clientISN.rawValue)
    }

    /// Checks the cookie carried back in an ACK (`ourISN` = SEG.ACK - 1,
    /// `clientISN` = SEG.SEQ - 1); nil when it is forged or too old.
    public func check(tuple: TCPFourTuple, clientISN: TCPSequenceNumber, ourISN: TCPSequenceNumber,
                      now: TCPInstant) -> Decoded? {
        let cookie = ourISN.rawValue &- clientISN.rawValue
        let t = cookie >> 27
        let current = counter(now) & 0x1f
        let age = (current &- t) & 0x1f
        guard age <= 1 else { return nil }
        let fields = (cookie >> 19) & 0xff
        guard mac(tuple: tuple, clientISN: clientISN, counter: t, fields: fields) == cookie & 0x7ffff else { return nil }
        let scale = UInt8((fields >> 1) & 0xf)
        return Decoded(
            maximumSegmentSize: Self.mssTable[Int(fields >> 5)],
            windowScale: scale == 15 ? nil : scale,
            sackPermitted: fields & 1 == 1)
    }
}
