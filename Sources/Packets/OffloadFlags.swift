/// Per-packet offload requests (transmit) and results (receive), as in
/// rte_mbuf's ol_flags.
public struct OffloadFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    // Receive: what the device checked.
    public static let rxIPChecksumGood = OffloadFlags(rawValue: 1 << 0)
    public static let rxIPChecksumBad = OffloadFlags(rawValue: 1 << 1)
    public static let rxL4ChecksumGood = OffloadFlags(rawValue: 1 << 2)
    public static let rxL4ChecksumBad = OffloadFlags(rawValue: 1 << 3)
    /// The device left the L4 checksum partial (virtio: data is valid, the
    /// checksum field is not filled in).
    public static let rxL4ChecksumNone = OffloadFlags(rawValue: 1 << 4)
    public static let rxVLANStripped = OffloadFlags(rawValue: 1 << 5)
    public static let rxRSSHash = OffloadFlags(rawValue: 1 << 6)
    /// The device coalesced TCP segments into this frame (LRO: virtio
    /// VIRTIO_NET_F_GUEST_TSO4); as a capability, that it can.
    public static let rxTCPCoalesced = OffloadFlags(rawValue: 1 << 7)

    // Transmit: what the device should fill in. l2Length, l3Length (and
    // l4Length) of the header say where the headers are.
    public static let txIPv4 = OffloadFlags(rawValue: 1 << 32)
    public static let txIPChecksum = OffloadFlags(rawValue: 1 << 33)
    public static let txTCPChecksum = OffloadFlags(rawValue: 1 << 34)
    public static let txUDPChecksum = OffloadFlags(rawValue: 1 << 35)
    public static let txVLANInsert = OffloadFlags(rawValue: 1 << 36)
    /// TCP segmentation (TSO): the device cuts the TCP payload into
    /// segments of `PacketHeader.segmentSize` bytes, copying the headers
    /// (l2 + l3 + l4 lengths, options included) in front of each, with the
    /// IPv4 length, identification and TCP sequence advanced, PSH and FIN
    /// kept on the last segment only. Needs `.txTCPChecksum` with it.
    public static let txTCPSegmentation = OffloadFlags(rawValue: 1 << 37)
    /// The packet is IPv6 (l3Length: the IPv6 header, 40 bytes, no
    /// extension headers): its L4 checksum request uses the IPv6
    /// pseudo-header (RFC 8200 §8.1), its TSO the payload length. As a
    /// capability: the port honours L4 checksum requests of IPv6 packets.
    public static let txIPv6 = OffloadFlags(rawValue: 1 << 38)
    /// Capability only: the port cuts TCP over IPv6 too (virtio
    /// VIRTIO_NET_F_HOST_TSO6). A packet asks with `.txTCPSegmentation`
    /// and `.txIPv6`.
    public static let txTCPSegmentationIPv6 = OffloadFlags(rawValue: 1 << 39)

    public static let txL4Checksum: OffloadFlags = [.txTCPChecksum, .txUDPChecksum]
}
