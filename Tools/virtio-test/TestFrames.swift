import Packets
import Wire

/// The frames the lab test exchanges with its peer (Tools/test.d/virtio_peer.py):
/// data frames (EtherType 0x88b5: a 4-byte sequence number then a pattern
/// derived from it), control frames (0x88b6: one line of ASCII text), and
/// UDP/IPv4 frames for the checksum phases.
enum TestFrames {
    static let dataType: UInt16 = 0x88b5
    static let controlType: UInt16 = 0x88b6
    static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

    static func macBytes(_ address: MACAddress) -> [UInt8] {
        let b = address.bytes
        return [b.0, b.1, b.2, b.3, b.4, b.5]
    }

    static func etherType(_ packet: PacketBuffer) -> UInt16 {
        guard packet.length >= 14 else { return 0 }
        return UInt16(packet.data.load(fromByteOffset: 12, as: UInt8.self)) << 8
            | UInt16(packet.data.load(fromByteOffset: 13, as: UInt8.self))
    }

    /// A data frame of `length` bytes carrying `sequence`.
    static func data(length: Int, sequence: UInt32, source: MACAddress) -> [UInt8] {
        var bytes = broadcast + macBytes(source) + [0x88, 0xb5]
        bytes += [UInt8(sequence >> 24), UInt8(truncatingIfNeeded: sequence >> 16), UInt8(truncatingIfNeeded: sequence >> 8), UInt8(truncatingIfNeeded: sequence)]
        while bytes.count < length { bytes.append(UInt8(truncatingIfNeeded: Int(sequence) &+ bytes.count)) }
        return bytes
    }

    /// Whether `bytes` is an intact data frame (pattern matches its sequence).
    static func isIntactData(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 18, bytes[12] == 0x88, bytes[13] == 0xb5 else { return false }
        let sequence = Int(bytes[14]) << 24 | Int(bytes[15]) << 16 | Int(bytes[16]) << 8 | Int(bytes[17])
        for i in 18..<bytes.count where bytes[i] != UInt8(truncatingIfNeeded: sequence &+ i) { return false }
        return true
    }

    static func control(_ text: String, source: MACAddress) -> [UInt8] {
        var bytes = broadcast + macBytes(source) + [0x88, 0xb6] + Array(text.utf8)
        while bytes.count < 60 { bytes.append(0) }
        return bytes
    }

    static func controlText(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.dropFirst(14).prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A UDP/IPv4 frame from `source` (10.0.0.2:4000) to the peer (10.0.0.1:9)
    /// whose UDP checksum field holds only the pseudo-header sum, for the
    /// device to complete (VIRTIO_NET_F_CSUM).
    static func udpForChecksumOffload(payloadLength: Int, sequence: UInt32, source: MACAddress, destination: [UInt8]) -> [UInt8] {
        let headers = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength + UDPDatagram.headerLength
        var frame = [UInt8](repeating: 0, count: headers + payloadLength)
        frame.withUnsafeMutableBytes { bytes in
            let target = MACAddress(destination[0], destination[1], destination[2], destination[3], destination[4], destination[5])
            EthernetRepr(destination: target, source: source, etherType: .ipv4).emit(into: EthernetFrame(unchecked: bytes))
            let ip = IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...]))
            let udp = UDPRepr(sourcePort: 4000, destinationPort: 9, payloadLength: payloadLength)
            let (from, to) = (IPv4Address(10, 0, 0, 2), IPv4Address(10, 0, 0, 1))
            IPv4Repr(source: from, destination: to, protocol: .udp, payloadLength: udp.datagramLength, dontFragment: true)
                .emit(into: ip)
            let datagram = UDPDatagram(unchecked: ip.payload)
            // Not complemented: the device adds the data and complements.
            udp.emit(into: datagram, source: from, destination: to, checksum: .pseudoHeaderOnly)
            // The sequence number, then a pattern derived from it.
            datagram.payload.storeBytes(of: sequence.bigEndian, as: UInt32.self)
            for index in 12..<udp.datagramLength {
                datagram.bytes[index] = UInt8(truncatingIfNeeded: index &* 3 &+ Int(sequence))
            }
        }
        return frame
    }
}
