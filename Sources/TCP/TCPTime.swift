/// A point on the stack's monotonic clock, in microseconds. The stack passes
/// `now` into every call, so the state machine never reads a clock itself and
/// tests can script time exactly.
public struct TCPInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: UInt64

    @inlinable public init(microseconds: UInt64) { self.microseconds = microseconds }

    public static let zero = TCPInstant(microseconds: 0)

    @inlinable
    public static func milliseconds(_ value: UInt64) -> TCPInstant { TCPInstant(microseconds: value * 1000) }

    /// The clock in milliseconds, truncated to 32 bits: the unit of TCP timestamps.
    @inlinable public var milliseconds32: UInt32 { UInt32(truncatingIfNeeded: microseconds / 1000) }

    @inlinable
    public static func < (lhs: TCPInstant, rhs: TCPInstant) -> Bool { lhs.microseconds < rhs.microseconds }

    @inlinable
    public static func + (lhs: TCPInstant, rhs: TCPDuration) -> TCPInstant {
        TCPInstant(microseconds: lhs.microseconds &+ rhs.microseconds)
    }

    /// The time from `rhs` to `lhs`, zero when `rhs` is later.
    @inlinable
    public static func - (lhs: TCPInstant, rhs: TCPInstant) -> TCPDuration {
        TCPDuration(microseconds: lhs.microseconds > rhs.microseconds ? lhs.microseconds - rhs.microseconds : 0)
    }

    public var description: String { "\(Double(microseconds) / 1000) ms" }
}

/// A length of time in microseconds.
public struct TCPDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: UInt64

    @inlinable public init(microseconds: UInt64) { self.microseconds = microseconds }

    public static let zero = TCPDuration(microseconds: 0)

    @inlinable public static func milliseconds(_ value: UInt64) -> TCPDuration { TCPDuration(microseconds: value * 1000) }
    @inlinable public static func seconds(_ value: UInt64) -> TCPDuration { TCPDuration(microseconds: value * 1_000_000) }

    @inlinable public var seconds: Double { Double(microseconds) / 1_000_000 }

    @inlinable
    public static func < (lhs: TCPDuration, rhs: TCPDuration) -> Bool { lhs.microseconds < rhs.microseconds }
    @inlinable
    public static func + (lhs: TCPDuration, rhs: TCPDuration) -> TCPDuration {
        TCPDuration(microseconds: lhs.microseconds &+ rhs.microseconds)
    }
    @inlinable
    public static func * (lhs: TCPDuration, rhs: UInt64) -> TCPDuration {
        TCPDuration(microseconds: lhs.microseconds &* rhs)
    }

    public var description: String { "\(Double(microseconds) / 1000) ms" }
}

extension Optional where Wrapped == TCPInstant {
    /// The earlier of two optional deadlines (nil means "none").
    @inlinable
    func earliest(_ other: TCPInstant?) -> TCPInstant? {
        switch (self, other) {
        case (nil, let b): return b
        case (let a, nil): return a
        case (let a?, let b?): return Swift.min(a, b)
        }
    }
}
