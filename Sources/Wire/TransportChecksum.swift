/// How `emit` fills a UDP or TCP checksum.
public enum TransportChecksum: Hashable, Sendable {
    /// Compute it in software over pseudo-header, header and payload.
    case compute
    /// Store only the (uncomplemented) pseudo-header sum: what a NIC with
    /// checksum offload (virtio NEEDS_CSUM, DPDK's L4 offload) finishes.
    case pseudoHeaderOnly
    /// Leave zero. For UDP that means "no checksum" (RFC 768); for TCP only
    /// when a later step fills it.
    case omit
}

extension IPv4Packet {
    /// The offset of the UDP or TCP checksum field within the transport
    /// header, nil for other protocols.
    @inlinable
    public static func transportChecksumOffset(for transport: IPProtocol) -> Int? {
        switch transport {
        case .tcp: return TCPSegment.checksumOffset
        case .udp: return UDPDatagram.checksumOffset
        default: return nil
        }
    }

    /// The pseudo-header sum for the transport bytes after the header (up
    /// to `totalLength`): what a TCP or UDP checksum starts from.
    @inlinable public var pseudoHeaderSum: UInt32 {
        InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: `protocol`, length: totalLength - headerLength)
    }

    /// Stores the pseudo-header sum, not complemented, in the checksum
    /// field of the TCP or UDP header after this header, for a device with
    /// checksum offload to finish (as `TransportChecksum.pseudoHeaderOnly`
    /// does at emit). The caller has checked that the protocol is TCP or
    /// UDP and that the field lies inside `bytes`; the transport bytes may
    /// continue past them (a chained packet).
    @inlinable
    public func seedTransportChecksum() {
        guard let offset = Self.transportChecksumOffset(for: `protocol`) else { return }
        bytes.setU16(InternetChecksum.seed(pseudoHeaderSum), at: headerLength + offset)
    }

    /// Stores the pseudo-header sum with a length of zero: what a device
    /// that segments (e1000 TSO, 8254x SDM 3.6.5) seeds each piece's
    /// checksum from, adding that piece's own length.
    @inlinable
    public func seedTransportChecksumWithoutLength() {
        guard let offset = Self.transportChecksumOffset(for: `protocol`) else { return }
        let sum = InternetChecksum.pseudoHeaderSum(source: source, destination: destination, protocol: `protocol`, length: 0)
        bytes.setU16(InternetChecksum.seed(sum), at: headerLength + offset)
    }
}
