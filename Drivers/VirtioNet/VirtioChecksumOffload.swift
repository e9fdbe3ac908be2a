import NetDevice
import Packets
import Wire

/// Prepares a packet's checksum requests for a virtio device, which fills
/// in one L4 checksum from `csum_start` on (VIRTIO_NET_F_CSUM) and knows
/// nothing of IPv4 header checksums. As the e1000 driver does, the L4
/// checksum field is seeded here with the pseudo-header sum (so callers may
/// leave it zero, or fill it as Linux's CHECKSUM_PARTIAL and DPDK do), and
/// an IPv4 header checksum request is computed here in software.
enum VirtioChecksumOffload {
    struct Placement {
        let checksumStart: UInt16
        let checksumOffset: UInt16
    }

    /// The checksum placement for the net header, nil when the request
    /// cannot be honoured (headers short or split across segments, not
    /// the IP version `.txIPv6` says, protocol mismatch, IPv6 extension
    /// headers) or only an IP checksum was asked for.
    /// `headerSize`: bytes of net header in front of the frame in this
    /// segment (the frame starts after them).
    @inline(__always)
    static func prepare(_ packet: UnsafeMutablePointer<PacketHeader>, flags: OffloadFlags, headerSize: Int) -> Placement? {
        let l2 = Int(packet.pointee.l2Length)
        let l3 = Int(packet.pointee.l3Length)
        let wantsTCP = flags.contains(.txTCPChecksum)
        let wantsUDP = flags.contains(.txUDPChecksum)
        guard !(wantsTCP && wantsUDP) else { return nil }
        let transport: IPProtocol? = wantsTCP ? .tcp : wantsUDP ? .udp : nil
        let frameLength = Int(packet.pointee.dataLength) - headerSize
        guard frameLength > 0 else { return nil }
        let frame = UnsafeMutableRawBufferPointer(
            start: packet.pointee.bufferAddress + Int(packet.pointee.dataOffset) + headerSize, count: frameLength)
        if flags.contains(.txIPv6) {
            // IPv6 has no header checksum; the pseudo-header holds the payload length.
            guard let transport, let ip = IPv6Packet(offloadRequestIn: frame, l2: l2, l3: l3, transport: transport),
                  let field = IPv4Packet.transportChecksumOffset(for: transport) else { return nil }
            ip.seedTransportChecksum()
            return Placement(checksumStart: UInt16(l2 + l3), checksumOffset: UInt16(field))
        }
        guard let ip = IPv4Packet(offloadRequestIn: frame, l2: l2, l3: l3, transport: transport) else { return nil }
        if flags.contains(.txIPChecksum) { ip.fillChecksum() }
        guard let transport, ip.carries(transport), let field = IPv4Packet.transportChecksumOffset(for: transport)
        else { return nil }
        // Not complemented: the device adds the segment and complements.
        ip.seedTransportChecksum()
        return Placement(checksumStart: UInt16(l2 + l3), checksumOffset: UInt16(field))
    }
}
