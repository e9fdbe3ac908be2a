/// The IPv4 protocol field and the IPv6 next header field (IANA protocol numbers).
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    @inlinable public static var icmp: IPProtocol { IPProtocol(rawValue: 1) }
    @inlinable public static var tcp: IPProtocol { IPProtocol(rawValue: 6) }
    @inlinable public static var udp: IPProtocol { IPProtocol(rawValue: 17) }
    /// IPv6 extension headers (RFC 8200 §4) and ICMPv6 (RFC 4443).
    @inlinable public static var ipv6HopByHop: IPProtocol { IPProtocol(rawValue: 0) }
    @inlinable public static var ipv6Routing: IPProtocol { IPProtocol(rawValue: 43) }
    @inlinable public static var ipv6Fragment: IPProtocol { IPProtocol(rawValue: 44) }
    @inlinable public static var esp: IPProtocol { IPProtocol(rawValue: 50) }
    @inlinable public static var ah: IPProtocol { IPProtocol(rawValue: 51) }
    @inlinable public static var icmpv6: IPProtocol { IPProtocol(rawValue: 58) }
    @inlinable public static var ipv6NoNextHeader: IPProtocol { IPProtocol(rawValue: 59) }
    @inlinable public static var ipv6DestinationOptions: IPProtocol { IPProtocol(rawValue: 60) }
    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmpv6: "ICMPv6"
        default: String(rawValue)
        }
    }
}
