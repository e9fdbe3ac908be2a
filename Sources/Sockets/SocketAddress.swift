import Glibc
import Wire

/// An IPv4 address and port: what AF_INET socket calls take and return.
public struct IPv4SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16

    public init(_ address: IPv4Address, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public static let any = IPv4SocketAddress(.any, 0)
    public var description: String { "\(address):\(port)" }

    /// The same as a `sockaddr_in` (network byte order).
    public var sockaddr: sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr = in_addr(s_addr: address.value.bigEndian)
        return result
    }

    public init(_ sockaddr: sockaddr_in) {
        self.init(IPv4Address(UInt32(bigEndian: sockaddr.sin_addr.s_addr)), UInt16(bigEndian: sockaddr.sin_port))
    }
}

/// What `connect` takes: an AF_INET or AF_INET6 address, or AF_UNSPEC to
/// dissolve a datagram socket's association. (Not named SocketAddress:
/// NIOCore has a public type of that name, and programs import both.)
public enum ConnectAddress: Hashable, Sendable {
    case inet(IPv4SocketAddress)
    case inet6(IPv6SocketAddress)
    case unspecified

    /// Parses a C `sockaddr` of `length` bytes (EINVAL when too short for
    /// its family, EAFNOSUPPORT for a family other than AF_INET, AF_INET6
    /// and AF_UNSPEC).
    public static func parse(_ pointer: UnsafeRawPointer, length: Int) throws(SocketError) -> ConnectAddress {
        guard length >= MemoryLayout<sa_family_t>.size else {
            throw SocketError(.invalidArgument, "address length \(length) is too short for a sockaddr")
        }
        let family = Int32(pointer.loadUnaligned(as: sa_family_t.self))
        if family == AF_UNSPEC { return .unspecified }
        if family == AF_INET6 {
            guard length >= IPv6SocketAddress.minimumLength else {
                throw SocketError(.invalidArgument, "address length \(length) is less than sizeof(struct sockaddr_in6) = \(MemoryLayout<sockaddr_in6>.size)")
            }
            var raw = sockaddr_in6()
            withUnsafeMutableBytes(of: &raw) { $0.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(length, $0.count))) }
            return .inet6(IPv6SocketAddress(raw))
        }
        guard family == AF_INET else {
            throw SocketError(.addressFamilyNotSupported, "address family \(family) is neither AF_INET nor AF_INET6")
        }
        guard length >= MemoryLayout<sockaddr_in>.size else {
            throw SocketError(.invalidArgument, "address length \(length) is less than sizeof(struct sockaddr_in) = \(MemoryLayout<sockaddr_in>.size)")
        }
        return .inet(IPv4SocketAddress(pointer.loadUnaligned(as: sockaddr_in.self)))
    }
}
