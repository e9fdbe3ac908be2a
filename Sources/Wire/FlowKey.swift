/// What receive-side scaling hashes in a frame, the way NICs do it
/// (Microsoft RSS): TCP and UDP over IPv4 by their 4-tuple; other IPv4,
/// and every fragment (only the first carries ports), by the address
/// 2-tuple; ARP and other EtherTypes are not hashed.
public enum FlowKey: Sendable, Equatable {
    case ipv4Ports(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16)
    case ipv4Addresses(source: IPv4Address, destination: IPv4Address)
    case arp(operation: UInt16)
    /// Not IPv4 or ARP, or too short to say.
    case other

    /// Classifies an Ethernet frame (VLAN tags are looked through).
    @inlinable
    public init(frame bytes: UnsafeMutableRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: bytes) else { self = .other; return }
        switch ethernet.etherType {
        case .ipv4:
            guard let ip = try? IPv4Packet(checking: ethernet.payload) else { self = .other; return }
            self = FlowKey(ipv4: ip)
        case .arp:
            guard let arp = try? ARPPacket(checking: ethernet.payload) else { self = .other; return }
            self = .arp(operation: arp.operation)
        default:
            self = .other
        }
    }

    /// Classifies an IPv4 packet.
    @inlinable
    public init(ipv4 ip: IPv4Packet) {
        let addresses = FlowKey.ipv4Addresses(source: ip.source, destination: ip.destination)
        guard !ip.isFragment else { self = addresses; return }
        switch ip.protocol {
        case .tcp:
            guard let tcp = try? TCPSegment(checking: ip.payload) else { self = addresses; return }
            self = .ipv4Ports(source: ip.source, destination: ip.destination,
                              sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort)
        case .udp:
            guard let udp = try? UDPDatagram(checking: ip.payload) else { self = addresses; return }
            self = .ipv4Ports(source: ip.source, destination: ip.destination,
                              sourcePort: udp.sourcePort, destinationPort: udp.destinationPort)
        default:
            self = addresses
        }
    }

    /// The RSS hash, nil for frames RSS does not hash.
    @inlinable
    public func hash(_ toeplitz: ToeplitzHash) -> UInt32? {
        switch self {
        case .ipv4Ports(let source, let destination, let sourcePort, let destinationPort):
            toeplitz.hash(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort)
        case .ipv4Addresses(let source, let destination):
            toeplitz.hash(source: source, destination: destination)
        case .arp, .other:
            nil
        }
    }
}

extension EthernetFrame {
    /// Whether `bytes` is an ARP reply: the quick look steering code takes at
    /// every frame of a queue that receives all unhashed traffic.
    @inlinable
    public static func isARPReply(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let frame = try? EthernetFrame(checking: bytes), frame.etherType == .arp,
              let arp = try? ARPPacket(checking: frame.payload) else { return false }
        return arp.operation == ARPOperation.reply.rawValue
    }
}
