import Packets

/// Turns a packet's checksum requests (OffloadFlags, l2/l3 lengths) into a
/// context descriptor layout and the data descriptor's POPTS, and prepares
/// the checksum fields the device adds to: the IPv4 header checksum is
/// zeroed, the TCP/UDP checksum is seeded with the pseudo-header sum (so a
/// caller may leave it zero or filled, as Linux's CHECKSUM_PARTIAL does).
enum E1000ChecksumOffload {
    /// False when the request cannot be honoured: headers missing or split
    /// across segments, not IPv4, or a protocol that does not match.
    @inline(__always)
    static func prepare(
        _ packet: PacketBuffer, flags: OffloadFlags,
        layout: inout E1000ContextDescriptor.Layout, options: inout UInt8
    ) -> Bool {
        let l2 = Int(packet.header.pointee.l2Length)
        let l3 = Int(packet.header.pointee.l3Length)
        let wantsTCP = flags.contains(.txTCPChecksum)
        let wantsUDP = flags.contains(.txUDPChecksum)
        guard l2 >= 14, l3 >= 20, !(wantsTCP && wantsUDP) else { return false }
        let l4Field = wantsTCP ? 16 : 6
        let needed = l2 + l3 + (wantsTCP || wantsUDP ? l4Field + 2 : 0)
        guard needed <= packet.length, l2 + l3 + l4Field <= 255 else { return false }
        let ip = packet.data + l2
        guard ip.load(as: UInt8.self) >> 4 == 4 else { return false }
        layout.command = E1000TransmitDescriptor.contextIPv4
        if flags.contains(.txIPChecksum) {
            ip.storeBytes(of: 0, toByteOffset: 10, as: UInt16.self)
            layout.ipStart = UInt8(l2)
            layout.ipOffset = UInt8(l2 + 10)
            layout.ipEnd = UInt16(l2 + l3 - 1)
            options |= E1000TransmitDescriptor.insertIPChecksum
        }
        if wantsTCP || wantsUDP {
            let protocolNumber = ip.load(fromByteOffset: 9, as: UInt8.self)
            guard protocolNumber == (wantsTCP ? 6 : 17) else { return false }
            let totalLength = Int(UInt16(bigEndian: ip.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            guard totalLength >= l3 else { return false }
            var sum = UInt32(protocolNumber) + UInt32(totalLength - l3)
            for offset in stride(from: 12, to: 20, by: 2) {
                sum += UInt32(UInt16(bigEndian: ip.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            }
            sum = (sum & 0xffff) + (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16)
            (ip + l3).storeBytes(of: UInt16(sum).bigEndian, toByteOffset: l4Field, as: UInt16.self)
            layout.l4Start = UInt8(l2 + l3)
            layout.l4Offset = UInt8(l2 + l3 + l4Field)
            layout.l4End = 0
            if wantsTCP { layout.command |= E1000TransmitDescriptor.contextTCP }
            options |= E1000TransmitDescriptor.insertL4Checksum
        }
        return true
    }
}
