/// A TCP sequence number: 32-bit arithmetic modulo 2^32 with the wrap-around
/// comparisons of RFC 9293 section 3.4 (a < b when b is less than 2^31 ahead).
/// The ordering is only meaningful for numbers less than 2^31 apart, which
/// windows of at most 2^30 bytes (RFC 7323) guarantee.
public struct TCPSequenceNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32

    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    @inlinable
    public static func + (lhs: TCPSequenceNumber, rhs: Int) -> TCPSequenceNumber {
        TCPSequenceNumber(lhs.rawValue &+ UInt32(truncatingIfNeeded: rhs))
    }

    @inlinable
    public static func - (lhs: TCPSequenceNumber, rhs: Int) -> TCPSequenceNumber {
        TCPSequenceNumber(lhs.rawValue &- UInt32(truncatingIfNeeded: rhs))
    }

    @inlinable
    public static func += (lhs: inout TCPSequenceNumber, rhs: Int) { lhs = lhs + rhs }

    /// The signed distance from `rhs` to `lhs` (positive when lhs is ahead).
    @inlinable
    public static func - (lhs: TCPSequenceNumber, rhs: TCPSequenceNumber) -> Int {
        Int(Int32(bitPattern: lhs.rawValue &- rhs.rawValue))
    }

    @inlinable
    public static func < (lhs: TCPSequenceNumber, rhs: TCPSequenceNumber) -> Bool {
        Int32(bitPattern: lhs.rawValue &- rhs.rawValue) < 0
    }

    /// The later of two sequence numbers in modular order.
    @inlinable
    public static func latest(_ a: TCPSequenceNumber, _ b: TCPSequenceNumber) -> TCPSequenceNumber {
        a < b ? b : a
    }

    /// The earlier of two sequence numbers in modular order.
    @inlinable
    public static func earliest(_ a: TCPSequenceNumber, _ b: TCPSequenceNumber) -> TCPSequenceNumber {
        a < b ? a : b
    }

    /// True when `low <= self < high` in modular order.
    @inlinable
    public func isIn(_ low: TCPSequenceNumber, upTo high: TCPSequenceNumber) -> Bool {
        !(self < low) && self < high
    }

    public var description: String { String(rawValue) }
}
