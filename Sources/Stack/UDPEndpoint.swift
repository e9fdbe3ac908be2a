import Packets
import Wire

/// A handle to a UDP endpoint of one stack (what a socket holds). Stale
/// handles (closed endpoints) are refused with `.badEndpoint`.
public struct UDPEndpoint: Hashable, Sendable, CustomStringConvertible {
    let index: Int32
    let generation: UInt32
    public var description: String { "udp#\(index)" }
}

/// A received datagram: `payload` is positioned at the UDP payload (it may
/// be a chain of segments after reassembly) and belongs to the caller, who
/// frees it or sends it on (for an echo, back with `udpSend`).
public struct ReceivedDatagram {
    public var payload: PacketBuffer
    /// The IPv4 source (.any for a datagram that came over IPv6).
    public var source: IPv4Address
    public var sourcePort: UInt16
    /// The IPv6 source, nil for a datagram that came over IPv4.
    public var sourceIPv6: IPv6Address?
    /// The receiving interface's index + 1 for a datagram over IPv6 (a
    /// link-local source's scope id, RFC 4007 §6); 0 over IPv4.
    public var scopeID: UInt32 = 0
    public var length: Int { payload.packetLength }
}

/// What an endpoint is ready for (for poll/select in the socket layer).
public struct Readiness: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let readable = Readiness(rawValue: 1)
    public static let writable = Readiness(rawValue: 2)
    /// An error (from an ICMP unreachable) is waiting for `udpTakeError`.
    public static let error = Readiness(rawValue: 4)
}
