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
        let udpLength = 8 + payloadLength
        let totalLength = 20 + udpLength
        var ip: [UInt8] = [0x45, 0, UInt8(totalLength >> 8), UInt8(totalLength & 0xff), 0, 0, 0x40, 0, 64, 17, 0, 0,
                           10, 0, 0, 2, 10, 0, 0, 1]
        let ipSum = checksum(ip)
        ip[10] = UInt8(ipSum >> 8)
        ip[11] = UInt8(ipSum & 0xff)
        // Pseudo header: source 10.0.0.2, destination 10.0.0.1, protocol, length.
        var pseudo: UInt32 = 0x0a00 + 0x0002 + 0x0a00 + 0x0001 + 17 + UInt32(udpLength)
        while pseudo > 0xffff { pseudo = pseudo & 0xffff + pseudo >> 16 }
        // Not inverted: the device adds the data and inverts.
        let partial = UInt16(pseudo)
        var udp: [UInt8] = [0x0f, 0xa0, 0, 9, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), UInt8(partial >> 8), UInt8(partial & 0xff)]
        udp += [UInt8(sequence >> 24), UInt8(truncatingIfNeeded: sequence >> 16), UInt8(truncatingIfNeeded: sequence >> 8), UInt8(truncatingIfNeeded: sequence)]
        while udp.count < udpLength { udp.append(UInt8(truncatingIfNeeded: udp.count &* 3 &+ Int(sequence))) }
        return destination + macBytes(source) + [0x08, 0x00] + ip + udp
    }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum > 0xffff { sum = sum & 0xffff + sum >> 16 }
        return ~UInt16(sum)
    }
}
