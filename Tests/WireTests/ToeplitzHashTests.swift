import Testing
import Wire

/// Microsoft's RSS verification suite ("Verifying the RSS Hash
/// Calculation"), with its key: the same vectors every NIC and DPDK's
/// `rte_softrss` are checked against.
@Suite("Toeplitz hash (RSS)")
struct ToeplitzHashTests {
    struct Vector: Sendable, CustomStringConvertible {
        var destination: IPv4Address, destinationPort: UInt16
        var source: IPv4Address, sourcePort: UInt16
        var addressesOnly: UInt32, withPorts: UInt32
        var description: String { "\(source):\(sourcePort) → \(destination):\(destinationPort)" }
    }

    static let vectors: [Vector] = [
        Vector(destination: IPv4Address(161, 142, 100, 80), destinationPort: 1766,
               source: IPv4Address(66, 9, 149, 187), sourcePort: 2794, addressesOnly: 0x323e_8fc2, withPorts: 0x51cc_c178),
        Vector(destination: IPv4Address(65, 69, 140, 83), destinationPort: 4739,
               source: IPv4Address(199, 92, 111, 2), sourcePort: 14230, addressesOnly: 0xd718_262a, withPorts: 0xc626_b0ea),
        Vector(destination: IPv4Address(12, 22, 207, 184), destinationPort: 38024,
               source: IPv4Address(24, 19, 198, 95), sourcePort: 12898, addressesOnly: 0xd2d0_a5de, withPorts: 0x5c2b_394a),
        Vector(destination: IPv4Address(209, 142, 163, 6), destinationPort: 2217,
               source: IPv4Address(38, 27, 205, 30), sourcePort: 48228, addressesOnly: 0x8298_9176, withPorts: 0xafc7_327f),
        Vector(destination: IPv4Address(202, 188, 127, 2), destinationPort: 1303,
               source: IPv4Address(153, 39, 163, 191), sourcePort: 44251, addressesOnly: 0x5d18_09c5, withPorts: 0x10e8_28a2),
    ]

    @Test("Microsoft's IPv4 vectors: 2-tuple and 4-tuple", arguments: vectors)
    func microsoftVectors(_ vector: Vector) throws {
        let toeplitz = try #require(ToeplitzHash())
        #expect(toeplitz.hash(source: vector.source, destination: vector.destination) == vector.addressesOnly)
        #expect(toeplitz.hash(source: vector.source, destination: vector.destination,
                              sourcePort: vector.sourcePort, destinationPort: vector.destinationPort) == vector.withPorts)
        // The byte-wise form over the same input agrees.
        var input: [UInt8] = []
        for word in [vector.source.value, vector.destination.value] {
            input += [UInt8(word >> 24), UInt8(word >> 16 & 0xff), UInt8(word >> 8 & 0xff), UInt8(word & 0xff)]
        }
        input += [UInt8(vector.sourcePort >> 8), UInt8(vector.sourcePort & 0xff),
                  UInt8(vector.destinationPort >> 8), UInt8(vector.destinationPort & 0xff)]
        #expect(input.withUnsafeBytes { toeplitz.hash($0) } == vector.withPorts)
    }

    @Test("a key shorter than 40 bytes is refused")
    func shortKey() {
        #expect(ToeplitzHash(key: Array(ToeplitzHash.microsoftKey.prefix(39))) == nil)
    }

    @Test("frames: TCP/UDP by 4-tuple, fragments and other IPv4 by 2-tuple, ARP and short frames not hashed")
    func flowKeys() throws {
        let toeplitz = try #require(ToeplitzHash())
        let vector = Self.vectors[0]
        func frame(protocol number: UInt8, fragment: Bool = false, arp: Bool = false) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 14 + 20 + 20)
            bytes[12] = arp ? 0x08 : 0x08; bytes[13] = arp ? 0x06 : 0x00
            if arp {
                let header: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 2]
                bytes.replaceSubrange(14..<22, with: header)
                return bytes + [UInt8](repeating: 0, count: 20)
            }
            bytes[14] = 0x45; bytes[16] = 0; bytes[17] = 40
            if fragment { bytes[20] = 0x20 }  // more fragments
            bytes[22] = 64; bytes[23] = number
            for (offset, word) in [(26, vector.source.value), (30, vector.destination.value)] {
                bytes[offset] = UInt8(word >> 24); bytes[offset + 1] = UInt8(word >> 16 & 0xff)
                bytes[offset + 2] = UInt8(word >> 8 & 0xff); bytes[offset + 3] = UInt8(word & 0xff)
            }
            bytes[34] = UInt8(vector.sourcePort >> 8); bytes[35] = UInt8(vector.sourcePort & 0xff)
            bytes[36] = UInt8(vector.destinationPort >> 8); bytes[37] = UInt8(vector.destinationPort & 0xff)
            bytes[38 + 8] = 0x50  // TCP data offset 5 (ignored by UDP)
            bytes[38] = 0; bytes[39] = 20  // UDP length field position overlaps TCP seq: harmless here
            return bytes
        }
        func key(_ bytes: [UInt8]) -> FlowKey {
            var copy = bytes
            return copy.withUnsafeMutableBytes { FlowKey(frame: $0) }
        }
        #expect(key(frame(protocol: 6)).hash(toeplitz) == vector.withPorts)
        #expect(key(frame(protocol: 17)).hash(toeplitz) == vector.withPorts)
        #expect(key(frame(protocol: 6, fragment: true)).hash(toeplitz) == vector.addressesOnly)
        #expect(key(frame(protocol: 1)).hash(toeplitz) == vector.addressesOnly)
        #expect(key(frame(protocol: 0, arp: true)) == .arp(operation: 2))
        #expect(key(Array(frame(protocol: 6).prefix(20))) == .other)
    }
}
