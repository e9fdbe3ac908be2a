import Packets

/// The header in front of every frame on a virtio-net queue (virtio 1.x,
/// 5.1.6): 12 bytes with VERSION_1 or MRG_RXBUF (it ends in num_buffers),
/// 10 bytes on a legacy device without MRG_RXBUF.
enum VirtioNetHeader {
    static let flags = 0
    static let gsoType = 1
    static let headerLength = 2
    static let gsoSize = 4
    static let checksumStart = 6
    static let checksumOffset = 8
    static let bufferCount = 10

    static let sizeWithBufferCount = 12
    static let legacySize = 10

    /// flags: the checksum from checksumStart on is to be filled in (TX) /
    /// was left partial (RX).
    static let needsChecksum: UInt8 = 1
    /// flags (RX): the device checked the checksum.
    static let dataValid: UInt8 = 2
    static let gsoNone: UInt8 = 0
    /// gso_type: TCP over IPv4, cut into gso_size pieces (HOST_TSO4).
    static let gsoTCPv4: UInt8 = 1
    /// gso_type: TCP over IPv6 (HOST_TSO6).
    static let gsoTCPv6: UInt8 = 4

    /// What a received frame's header says (virtio 1.x 5.1.6.4.1): the
    /// checksum checked (DATA_VALID), or partial from a local sender that
    /// never crossed a wire (NEEDS_CSUM, the usual case for a coalesced
    /// frame); a GSO type: the host coalesced segments into this frame.
    @inline(__always)
    static func receiveFlags(flags: UInt8, gsoType: UInt8) -> OffloadFlags {
        var result: OffloadFlags = []
        if flags & dataValid != 0 {
            result.insert(.rxL4ChecksumGood)
        } else if flags & needsChecksum != 0 {
            result.insert(.rxL4ChecksumNone)
        }
        if gsoType != gsoNone { result.insert(.rxTCPCoalesced) }
        return result
    }
}
