/// Per-packet offload requests (transmit) and results (receive), as in
/// rte_mbuf's ol_flags.
public struct OffloadFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    // Receive: what the device checked.
    @inlinable public static var rxIPChecksumGood: OffloadFlags { OffloadFlags(rawValue: 1 << 0) }
    @inlinable public static var rxIPChecksumBad: OffloadFlags { OffloadFlags(rawValue: 1 << 1) }
    @inlinable public static var rxL4ChecksumGood: OffloadFlags { OffloadFlags(rawValue: 1 << 2) }
    @inlinable public static var rxL4ChecksumBad: OffloadFlags { OffloadFlags(rawValue: 1 << 3) }
    /// The device left the L4 checksum partial (virtio: data is valid, the
    /// checksum field is not filled in).
    @inlinable public static var rxL4ChecksumNone: OffloadFlags { OffloadFlags(rawValue: 1 << 4) }
    @inlinable public static var rxVLANStripped: OffloadFlags { OffloadFlags(rawValue: 1 << 5) }
    @inlinable public static var rxRSSHash: OffloadFlags { OffloadFlags(rawValue: 1 << 6) }
    /// The device coalesced TCP segments into this frame (LRO: virtio
    /// VIRTIO_NET_F_GUEST_TSO4); as a capability, that it can.
    @inlinable public static var rxTCPCoalesced: OffloadFlags { OffloadFlags(rawValue: 1 << 7) }
    // Transmit: what the device should fill in. l2Length, l3Length (and
    // l4Length) of the header say where the headers are.
    @inlinable public static var txIPv4: OffloadFlags { OffloadFlags(rawValue: 1 << 32) }
    @inlinable public static var txIPChecksum: OffloadFlags { OffloadFlags(rawValue: 1 << 33) }
    @inlinable public static var txTCPChecksum: OffloadFlags { OffloadFlags(rawValue: 1 << 34) }
    @inlinable public static var txUDPChecksum: OffloadFlags { OffloadFlags(rawValue: 1 << 35) }
    @inlinable public static var txVLANInsert: OffloadFlags { OffloadFlags(rawValue: 1 << 36) }
    /// TCP segmentation (TSO): the device cuts the TCP payload into
    /// segments of `PacketHeader.segmentSize` bytes, copying the headers
    /// (l2 + l3 + l4 lengths, options included) in front of each, with the
    /// IPv4 length, identification and TCP sequence advanced, PSH and FIN
    /// kept on the last segment only. Needs `.txTCPChecksum` with it.
    @inlinable public static var txTCPSegmentation: OffloadFlags { OffloadFlags(rawValue: 1 << 37) }
    /// The packet is IPv6 (l3Length: the IPv6 header, 40 bytes, no
    /// extension headers): its L4 checksum request uses the IPv6
    /// pseudo-header (RFC 8200 §8.1), its TSO the payload length. As a
    /// capability: the port honours L4 checksum requests of IPv6 packets.
    @inlinable public static var txIPv6: OffloadFlags { OffloadFlags(rawValue: 1 << 38) }
    /// Capability only: the port cuts TCP over IPv6 too (virtio
    /// VIRTIO_NET_F_HOST_TSO6). A packet asks with `.txTCPSegmentation`
    /// and `.txIPv6`.
    @inlinable public static var txTCPSegmentationIPv6: OffloadFlags { OffloadFlags(rawValue: 1 << 39) }
    @inlinable public static var txL4Checksum: OffloadFlags { [.txTCPChecksum, .txUDPChecksum] }
}
