import SystemPackage

/// A failed socket call: the POSIX errno the C API sets (`errno`) and what
/// happened and how to fix it (`reason`).
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    public let errno: Errno
    public let reason: String

    public init(_ errno: Errno, _ reason: String) {
        self.errno = errno
        self.reason = reason
    }

    public var description: String { "\(errno) (\(errno.rawValue)): \(reason)" }

    public static func == (lhs: SocketError, rhs: SocketError) -> Bool { lhs.errno == rhs.errno }
}
