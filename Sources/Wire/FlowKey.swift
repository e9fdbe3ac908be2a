/// What receive-side scaling hashes in a frame, the way NICs do it
/// (Microsoft RSS): TCP and UDP over IPv4 by their 4-tuple; other IPv4,
/// and every fragment (only the first carries ports), by the address
/// 2-tuple; TCP and UDP over IPv6 (behind any extension headers, not in a
/// fragment) by their 4-tuple (TCPv6/UDPv6); other IPv6 (ICMPv6 and NDP,
/// fragments) not hashed: it goes to queue 0, as a virtio device
/// configured with the TCPv6 and UDPv6 hash types and not IPv6 sends it,
/// and neighbour advertisements are copied from there to every queue as
/// ARP replies are; ARP and other EtherTypes are not hashed.
public enum FlowKey: Sendable, Equatable {
    case ipv4Ports(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16)
    case ipv4Addresses(source: IPv4Address, destination: IPv4Address)
    case ipv6Ports(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16)
    /// IPv6 that is not hashed; `isNeighborAdvertisement` marks an NDP
    /// neighbour advertisement (RFC 4861 §4.4), which every core's cache needs.
    case ipv6Unhashed(isNeighborAdvertisement: Bool)
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
        case .ipv6:
            guard let ip = try? IPv6Packet(checking: ethernet.payload) else { self = .other; return }
            self = FlowKey(ipv6: ip)
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

    /// Classifies an IPv6 packet: the upper layer behind its extension
    /// headers (bounded walk, `IPv6HeaderChain`); a fragment is not hashed.
    @inlinable
    public init(ipv6 ip: IPv6Packet) {
        guard let chain = try? IPv6HeaderChain.parse(ip.payload, first: ip.nextHeader), chain.fragment == nil else {
            self = .ipv6Unhashed(isNeighborAdvertisement: false)
            return
        }
        let upper = ip.payload.slice(chain.upperLayerOffset..<ip.payload.count)
        switch chain.upperLayer {
        case .tcp:
            guard let tcp = try? TCPSegment(checking: upper) else { break }
            self = .ipv6Ports(source: ip.source, destination: ip.destination,
                              sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort)
            return
        case .udp:
            guard let udp = try? UDPDatagram(checking: upper) else { break }
            self = .ipv6Ports(source: ip.source, destination: ip.destination,
                              sourcePort: udp.sourcePort, destinationPort: udp.destinationPort)
            return
        case .icmpv6:
            // Type 136: neighbour advertisement (RFC 4861 §4.4).
            self = .ipv6Unhashed(isNeighborAdvertisement: upper.count >= 4 && upper.u8(at: 0) == 136)
            return
        default:
            break
        }
        self = .ipv6Unhashed(isNeighborAdvertisement: false)
    }

    /// An ARP reply or an NDP neighbour advertisement: copied to every core.
    @inlinable
    public var isNeighborAnswer: Bool {
        switch self {
        case .arp(let operation): operation == ARPOperation.reply.rawValue
        case .ipv6Unhashed(let advertisement): advertisement
        default: false
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
        case .ipv6Ports(let source, let destination, let sourcePort, let destinationPort):
            toeplitz.hash(source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort)
        case .ipv6Unhashed, .arp, .other:
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

    /// Whether `bytes` is an ARP reply or an NDP neighbour advertisement:
    /// what queue 0 copies to every core (each core's cache learns what
    /// its own requests and solicitations asked).
    @inlinable
    public static func isNeighborAnswer(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let frame = try? EthernetFrame(checking: bytes) else { return false }
        switch frame.etherType {
        case .arp:
            return isARPReply(bytes)
        case .ipv6:
            guard let ip = try? IPv6Packet(checking: frame.payload) else { return false }
            return FlowKey(ipv6: ip).isNeighborAnswer
        default:
            return false
        }
    }
}
