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
