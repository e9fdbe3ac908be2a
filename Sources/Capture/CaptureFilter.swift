import Wire

/// A compiled capture filter: the tcpdump-like subset `host`, `src host`,
/// `dst host`, `port`, `src port`, `dst port`, `tcp`, `udp`, `icmp`, `arp`,
/// `ip`, combined with `and`, `or`, `not` and parentheses (text form:
/// `CaptureFilter(parsing:)`). Matching reads headers only through Wire's
/// views, from the packet's first segment, and allocates nothing.
public indirect enum CaptureFilter: Sendable, Equatable, CustomStringConvertible {
    public enum Side: Sendable, Equatable {
        case either, source, destination
    }

    case all
    case ip
    case arp
    case transport(IPProtocol)
    case host(IPv4Address, Side)
    case port(UInt16, Side)
    case not(CaptureFilter)
    case and(CaptureFilter, CaptureFilter)
    case or(CaptureFilter, CaptureFilter)

    /// True when the Ethernet frame in `frame` passes.
    public func matches(frame: UnsafeRawBufferPointer) -> Bool {
        if case .all = self { return true }
        return matches(FrameHeaders(frame))
    }

    func matches(_ headers: FrameHeaders) -> Bool {
        switch self {
        case .all: return true
        case .ip: return headers.isIPv4
        case .arp: return headers.isARP
        case .transport(let value): return headers.isIPv4 && headers.protocolNumber == value.rawValue
        case .host(let address, let side):
            guard headers.isIPv4 || headers.isARP else { return false }
            switch side {
            case .either: return headers.source == address || headers.destination == address
            case .source: return headers.source == address
            case .destination: return headers.destination == address
            }
        case .port(let port, let side):
            guard headers.hasPorts else { return false }
            switch side {
            case .either: return headers.sourcePort == port || headers.destinationPort == port
            case .source: return headers.sourcePort == port
            case .destination: return headers.destinationPort == port
            }
        case .not(let inner): return !inner.matches(headers)
        case .and(let left, let right): return left.matches(headers) && right.matches(headers)
        case .or(let left, let right): return left.matches(headers) || right.matches(headers)
        }
    }

    public var description: String {
        switch self {
        case .all: return ""
        case .ip: return "ip"
        case .arp: return "arp"
        case .transport(let value): return value == .tcp ? "tcp" : value == .udp ? "udp" : value == .icmp ? "icmp" : "proto \(value.rawValue)"
        case .host(let address, let side): return side.prefix + "host \(address)"
        case .port(let port, let side): return side.prefix + "port \(port)"
        case .not(let inner): return "not (\(inner))"
        case .and(let left, let right): return "(\(left) and \(right))"
        case .or(let left, let right): return "(\(left) or \(right))"
        }
    }
}

extension CaptureFilter.Side {
    var prefix: String {
        switch self {
        case .either: ""
        case .source: "src "
        case .destination: "dst "
        }
    }
}

/// The header fields a filter asks about, read once per frame. ARP's
/// sender and target addresses stand for source and destination, as in
/// tcpdump's `host`. Only a first fragment has ports.
struct FrameHeaders {
    var isIPv4 = false
    var isARP = false
    var hasPorts = false
    var protocolNumber: UInt8 = 0
    var source = IPv4Address.any
    var destination = IPv4Address.any
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0

    init(_ frame: UnsafeRawBufferPointer) {
        guard frame.count >= EthernetFrame.headerLength, let base = frame.baseAddress else { return }
        let bytes = UnsafeMutableRawBufferPointer(mutating: frame)
        let ethernet = EthernetFrame(unchecked: bytes)
        if ethernet.hasVLANTag && frame.count < EthernetFrame.headerLength + EthernetFrame.vlanTagLength { return }
        let etherType = ethernet.etherType
        let start = ethernet.headerLength
        let rest = UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base) + start, count: frame.count - start)
        if etherType == .arp {
            guard rest.count >= ARPPacket.length else { return }
            let arp = ARPPacket(unchecked: rest)
            isARP = true
            source = arp.senderProtocolAddress
            destination = arp.targetProtocolAddress
        } else if etherType == .ipv4 {
            guard rest.count >= IPv4Packet.minimumHeaderLength else { return }
            let packet = IPv4Packet(unchecked: rest)
            guard packet.version == 4 else { return }
            isIPv4 = true
            source = packet.source
            destination = packet.destination
            protocolNumber = packet.protocol.rawValue
            let headerLength = packet.headerLength
            guard packet.fragmentOffset == 0, headerLength >= IPv4Packet.minimumHeaderLength,
                  protocolNumber == IPProtocol.tcp.rawValue || protocolNumber == IPProtocol.udp.rawValue,
                  rest.count >= headerLength + 4 else { return }
            // TCP and UDP keep both ports in their first four bytes.
            let transport = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(rebasing: rest[headerLength...]))
            hasPorts = true
            sourcePort = transport.sourcePort
            destinationPort = transport.destinationPort
        }
    }
}
