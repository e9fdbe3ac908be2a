#if canImport(Glibc)
import Glibc
#endif

/// An error from the platform layer. `description` says what went wrong and,
/// where there is one, the fix.
public struct PlatformError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case noHugepages
        case invalidArgument
        case permissionDenied
        case systemCall
        case notFound
        case unsupported
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// An error for a failed system call, naming it and errno's text.
    public static func systemCall(_ what: String, errno code: Int32 = errno) -> PlatformError {
        let kind: Kind = (code == EPERM || code == EACCES) ? .permissionDenied : .systemCall
        return PlatformError(kind, "\(what): \(String(cString: strerror(code))) (errno \(code))")
    }
}
