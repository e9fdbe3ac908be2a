import Packets
import Wire

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
        guard !(wantsTCP && wantsUDP) else { return false }
        let transport: IPProtocol? = wantsTCP ? .tcp : wantsUDP ? .udp : nil
        let frame = UnsafeMutableRawBufferPointer(start: packet.data, count: packet.length)
        // The context descriptor's start and offset fields are one byte each.
        let l4Field = wantsTCP ? TCPSegment.checksumOffset : UDPDatagram.checksumOffset
        guard l2 + l3 + l4Field <= 255 else { return false }
        if flags.contains(.txIPv6) {
            return prepareIPv6(frame, transport: transport, flags: flags, l2: l2, l3: l3, layout: &layout, options: &options)
        }
        guard let ip = IPv4Packet(offloadRequestIn: frame, l2: l2, l3: l3, transport: transport) else { return false }
        layout.command = E1000TransmitDescriptor.contextIPv4
        if flags.contains(.txIPChecksum) {
            ip.headerChecksum = 0
            layout.ipStart = UInt8(l2)
            layout.ipOffset = UInt8(l2 + IPv4Packet.checksumOffset)
            layout.ipEnd = UInt16(l2 + l3 - 1)
            options |= E1000TransmitDescriptor.insertIPChecksum
        }
        if let transport {
            guard ip.carries(transport) else { return false }
            ip.seedTransportChecksum()
            layout.l4Start = UInt8(l2 + l3)
            layout.l4Offset = UInt8(l2 + l3 + l4Field)
            layout.l4End = 0
            if wantsTCP { layout.command |= E1000TransmitDescriptor.contextTCP }
            options |= E1000TransmitDescriptor.insertL4Checksum
        }
        return true
    }

    /// An IPv6 packet's L4 checksum (8254x SDM 3.3.6: TUCMD.IP clear, the
    /// IPCSS fields unused: IPv6 has no header checksum). The TCP/UDP
    /// checksum is seeded with the IPv6 pseudo-header sum (RFC 8200 §8.1).
    @inline(__always)
    private static func prepareIPv6(
        _ frame: UnsafeMutableRawBufferPointer, transport: IPProtocol?, flags: OffloadFlags, l2: Int, l3: Int,
        layout: inout E1000ContextDescriptor.Layout, options: inout UInt8
    ) -> Bool {
        guard !flags.contains(.txIPChecksum), let transport,
              let ip = IPv6Packet(offloadRequestIn: frame, l2: l2, l3: l3, transport: transport),
              let field = IPv4Packet.transportChecksumOffset(for: transport) else { return false }
        ip.seedTransportChecksum()
        layout.command = transport == .tcp ? E1000TransmitDescriptor.contextTCP : 0
        layout.l4Start = UInt8(l2 + l3)
        layout.l4Offset = UInt8(l2 + l3 + field)
        layout.l4End = 0
        options |= E1000TransmitDescriptor.insertL4Checksum
        return true
    }

    /// A TCP segmentation request (TSE, 8254x SDM 3.6.5 / 3.3.7): a context
    /// with PAYLEN, HDRLEN and MSS, both checksums inserted. The IPv4
    /// checksum is zeroed and the TCP one seeded with the pseudo-header
    /// without its length: the device fixes the IPv4 length and
    /// identification, the sequence number and PSH/FIN of each piece, and
    /// adds each piece's length to the seed. False when the request cannot
    /// be honoured (headers not in the first segment or longer than
    /// HDRLEN's byte, no segment size, not TCP over IPv4).
    @inline(__always)
    static func prepareSegmentation(
        _ packet: PacketBuffer, layout: inout E1000ContextDescriptor.Layout, options: inout UInt8
    ) -> Bool {
        let l2 = Int(packet.header.pointee.l2Length)
        let l3 = Int(packet.header.pointee.l3Length)
        let l4 = Int(packet.header.pointee.l4Length)
        let headers = l2 + l3 + l4
        let segmentSize = packet.segmentSize
        guard packet.offloadFlags.contains(.txTCPChecksum), l4 >= TCPSegment.minimumHeaderLength, segmentSize > 0,
              headers <= 255, headers <= packet.length, packet.packetLength > headers else { return false }
        let frame = UnsafeMutableRawBufferPointer(start: packet.data, count: packet.length)
        guard let ip = IPv4Packet(offloadRequestIn: frame, l2: l2, l3: l3, transport: .tcp), ip.carries(.tcp) else { return false }
        ip.headerChecksum = 0
        ip.seedTransportChecksumWithoutLength()
        layout.command = E1000TransmitDescriptor.contextIPv4 | E1000TransmitDescriptor.contextTCP
            | E1000TransmitDescriptor.tcpSegmentation
        layout.ipStart = UInt8(l2)
        layout.ipOffset = UInt8(l2 + IPv4Packet.checksumOffset)
        layout.ipEnd = UInt16(l2 + l3 - 1)
        layout.l4Start = UInt8(l2 + l3)
        layout.l4Offset = UInt8(l2 + l3 + TCPSegment.checksumOffset)
        layout.l4End = 0
        layout.payloadLength = UInt32(packet.packetLength - headers)
        layout.headerLength = UInt8(headers)
        layout.segmentSize = UInt16(segmentSize)
        options = E1000TransmitDescriptor.insertIPChecksum | E1000TransmitDescriptor.insertL4Checksum
        return true
    }
}
