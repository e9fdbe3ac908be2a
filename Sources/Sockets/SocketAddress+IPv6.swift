import Glibc
import Wire

/// An IPv6 address, port and scope: what AF_INET6 socket calls take and
/// return (RFC 3493 §3.3). An IPv4 peer of a dual-stack socket appears as
/// its v4-mapped address ::ffff:a.b.c.d. The scope id names the interface
/// of a link-local address: the stack's interface index + 1 (0: none).
public struct IPv6SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv6Address
    public var port: UInt16
    public var flowInfo: UInt32
    public var scopeID: UInt32

    public init(_ address: IPv6Address, _ port: UInt16, flowInfo: UInt32 = 0, scopeID: UInt32 = 0) {
        self.address = address
        self.port = port
        self.flowInfo = flowInfo
        self.scopeID = scopeID
    }

    /// [::]:0 (not `.any`: calls overloaded on both families would be ambiguous).
    public static let unspecified = IPv6SocketAddress(.unspecified, 0)
    public var description: String { "[\(address)\(scopeID == 0 ? "" : "%\(scopeID)")]:\(port)" }

    /// The same as a `sockaddr_in6` (network byte order).
    public var sockaddr: sockaddr_in6 {
        var result = sockaddr_in6()
        result.sin6_family = sa_family_t(AF_INET6)
        result.sin6_port = port.bigEndian
        result.sin6_flowinfo = flowInfo.bigEndian
        result.sin6_scope_id = scopeID
        withUnsafeMutableBytes(of: &result.sin6_addr) { address.store(to: $0.baseAddress!) }
        return result
    }

    public init(_ sockaddr: sockaddr_in6) {
        var raw = sockaddr.sin6_addr
        let address = withUnsafeBytes(of: &raw) { IPv6Address(loadingFrom: $0.baseAddress!) }
        self.init(address, UInt16(bigEndian: sockaddr.sin6_port), flowInfo: UInt32(bigEndian: sockaddr.sin6_flowinfo),
                  scopeID: sockaddr.sin6_scope_id)
    }

    /// An IPv4 address as a dual-stack socket shows it (v4-mapped).
    public init(mapping address: IPv4SocketAddress) {
        self.init(IPv6Address(ipv4Mapped: address.address), address.port)
    }

    /// Linux takes the RFC 2133 size (no scope id field) as well.
    static let minimumLength = 24
}

/// An address of either family, as getsockname, getpeername and accept
/// return it: AF_INET sockets give `.v4`, AF_INET6 sockets `.v6`.
public enum InternetSocketAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4SocketAddress)
    case v6(IPv6SocketAddress)

    public var port: UInt16 {
        switch self {
        case .v4(let a): a.port
        case .v6(let a): a.port
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// Writes it as a `sockaddr_in` or `sockaddr_in6` into `storage` of
    /// `capacity` bytes (truncated as the kernel does) and returns the full length.
    public func write(to storage: UnsafeMutableRawPointer?, capacity: Int) -> Int {
        switch self {
        case .v4(let a): return Self.copy(a.sockaddr, to: storage, capacity: capacity)
        case .v6(let a): return Self.copy(a.sockaddr, to: storage, capacity: capacity)
        }
    }

    private static func copy<T>(_ value: T, to storage: UnsafeMutableRawPointer?, capacity: Int) -> Int {
        var value = value
        let size = MemoryLayout<T>.size
        if let storage, capacity > 0 {
            withUnsafeBytes(of: &value) { storage.copyMemory(from: $0.baseAddress!, byteCount: min(size, capacity)) }
        }
        return size
    }
}
