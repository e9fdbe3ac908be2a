import NetDevice
import Packets

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
    /// IPv4, protocol mismatch) or only an IP checksum was asked for.
    /// `headerSize`: bytes of net header in front of the frame in this
    /// segment (the frame starts after them).
    @inline(__always)
    static func prepare(_ packet: UnsafeMutablePointer<PacketHeader>, flags: OffloadFlags, headerSize: Int) -> Placement? {
        let l2 = Int(packet.pointee.l2Length)
        let l3 = Int(packet.pointee.l3Length)
        let wantsTCP = flags.contains(.txTCPChecksum)
        let wantsUDP = flags.contains(.txUDPChecksum)
        guard l2 >= 14, l3 >= 20, !(wantsTCP && wantsUDP) else { return nil }
        let field = wantsTCP ? Int(VirtioNetHeader.tcpChecksumOffset) : Int(VirtioNetHeader.udpChecksumOffset)
        let frameLength = Int(packet.pointee.dataLength) - headerSize
        guard l2 + l3 + field + 2 <= frameLength else { return nil }
        let ip = packet.pointee.bufferAddress + Int(packet.pointee.dataOffset) + headerSize + l2
        guard ip.load(as: UInt8.self) >> 4 == 4 else { return nil }
        if flags.contains(.txIPChecksum) {
            ip.storeBytes(of: 0, toByteOffset: 10, as: UInt16.self)
            let sum = ~fold(sum(ip, count: l3))
            ip.storeBytes(of: sum.bigEndian, toByteOffset: 10, as: UInt16.self)
        }
        guard wantsTCP || wantsUDP else { return nil }
        let protocolNumber = ip.load(fromByteOffset: 9, as: UInt8.self)
        guard protocolNumber == (wantsTCP ? 6 : 17) else { return nil }
        let totalLength = Int(UInt16(bigEndian: ip.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        guard totalLength >= l3 else { return nil }
        // Pseudo header: addresses, protocol, L4 length. Not inverted: the
        // device adds the segment and inverts.
        let pseudo = fold(sum(ip + 12, count: 8) &+ UInt32(protocolNumber) &+ UInt32(totalLength - l3))
        ip.storeBytes(of: pseudo.bigEndian, toByteOffset: l3 + field, as: UInt16.self)
        return Placement(checksumStart: UInt16(l2 + l3), checksumOffset: UInt16(field))
    }

    /// Big-endian 16-bit words summed (`count` even).
    @inline(__always)
    static func sum(_ bytes: UnsafeMutableRawPointer, count: Int) -> UInt32 {
        var total: UInt32 = 0
        var offset = 0
        while offset + 1 < count {
            total &+= UInt32(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
        }
        return total
    }

    @inline(__always)
    static func fold(_ value: UInt32) -> UInt16 {
        var sum = value
        while sum > 0xffff { sum = (sum & 0xffff) &+ (sum >> 16) }
        return UInt16(sum)
    }
}
