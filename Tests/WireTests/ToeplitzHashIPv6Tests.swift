import Testing
import Wire

/// The IPv6 half of Microsoft's RSS verification suite ("Verifying the RSS
/// Hash Calculation": IPv6 only, IPv6 with TCP), and what `FlowKey` hashes
/// in an IPv6 frame.
@Suite("Toeplitz hash over IPv6 (RSS)")
struct ToeplitzHashIPv6Tests {
    struct Vector: Sendable, CustomStringConvertible {
        var destination: String, destinationPort: UInt16
        var source: String, sourcePort: UInt16
        var addressesOnly: UInt32, withPorts: UInt32
        var description: String { "[\(source)]:\(sourcePort) → [\(destination)]:\(destinationPort)" }
    }

    static let vectors: [Vector] = [
        Vector(destination: "3ffe:2501:200:3::1", destinationPort: 1766, source: "3ffe:2501:200:1fff::7", sourcePort: 2794,
               addressesOnly: 0x2cc1_8cd5, withPorts: 0x4020_7d3d),
        Vector(destination: "ff02::1", destinationPort: 4739, source: "3ffe:501:8::260:97ff:fe40:efab", sourcePort: 14230,
               addressesOnly: 0x0f0c_461c, withPorts: 0xdde5_1bbf),
        Vector(destination: "fe80::200:f8ff:fe21:67cf", destinationPort: 38024,
               source: "3ffe:1900:4545:3:200:f8ff:fe21:67cf", sourcePort: 44251,
               addressesOnly: 0x4b61_e985, withPorts: 0x02d1_feef),
    ]

    static func bytes(_ address: IPv6Address) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: 16)
        raw.withUnsafeMutableBytes { address.store(to: $0.baseAddress!) }
        return raw
    }

    @Test("Microsoft's IPv6 vectors: 2-tuple and 4-tuple", arguments: vectors)
    func microsoftVectors(_ vector: Vector) throws {
        let toeplitz = try #require(ToeplitzHash())
        let source = try #require(IPv6Address(vector.source)), destination = try #require(IPv6Address(vector.destination))
        #expect(toeplitz.hash(source: source, destination: destination) == vector.addressesOnly)
        #expect(toeplitz.hash(source: source, destination: destination,
                              sourcePort: vector.sourcePort, destinationPort: vector.destinationPort) == vector.withPorts)
        // The byte-wise form over the same 36-byte input agrees.
        let input = Self.bytes(source) + Self.bytes(destination)
            + [UInt8(vector.sourcePort >> 8), UInt8(vector.sourcePort & 0xff),
               UInt8(vector.destinationPort >> 8), UInt8(vector.destinationPort & 0xff)]
        #expect(input.withUnsafeBytes { toeplitz.hash($0) } == vector.withPorts)
    }

    /// An Ethernet + IPv6 frame: `headers` (next header, bytes) chained in
    /// front of `upper` (protocol number, bytes).
    static func frame(_ vector: Vector, extensions: [(UInt8, [UInt8])] = [], upper: UInt8, _ body: [UInt8]) -> [UInt8] {
        let source = IPv6Address(vector.source)!, destination = IPv6Address(vector.destination)!
        var payload: [UInt8] = []
        for (index, header) in extensions.enumerated() {
            var bytes = header.1
            bytes[0] = index + 1 < extensions.count ? extensions[index + 1].0 : upper
            payload += bytes
        }
        payload += body
        let first = extensions.first?.0 ?? upper
        var bytes: [UInt8] = [0x52, 0x54, 0, 0, 0, 1, 0x52, 0x54, 0, 0, 0, 2, 0x86, 0xDD]
        bytes += [0x60, 0, 0, 0, UInt8(payload.count >> 8), UInt8(payload.count & 0xff), first, 64]
        return bytes + Self.bytes(source) + Self.bytes(destination) + payload
    }

    static func ports(_ vector: Vector, udp: Bool) -> [UInt8] {
        var header = [UInt8(vector.sourcePort >> 8), UInt8(vector.sourcePort & 0xff),
                      UInt8(vector.destinationPort >> 8), UInt8(vector.destinationPort & 0xff)]
        header += udp ? [0, 8, 0, 0] : [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]
        return header
    }

    static func key(_ bytes: [UInt8]) -> FlowKey {
        var copy = bytes
        return copy.withUnsafeMutableBytes { FlowKey(frame: $0) }
    }

    @Test("frames: TCP/UDP over IPv6 by 4-tuple (behind a hop-by-hop header too); ICMPv6 and fragments not hashed")
    func flowKeys() throws {
        let toeplitz = try #require(ToeplitzHash())
        let vector = Self.vectors[0]
        let tcp = Self.frame(vector, upper: 6, Self.ports(vector, udp: false))
        #expect(Self.key(tcp).hash(toeplitz) == vector.withPorts)
        let udp = Self.frame(vector, upper: 17, Self.ports(vector, udp: true))
        #expect(Self.key(udp).hash(toeplitz) == vector.withPorts)
        let hopByHop: (UInt8, [UInt8]) = (0, [0, 0, 1, 4, 0, 0, 0, 0])
        let behindOptions = Self.frame(vector, extensions: [hopByHop], upper: 6, Self.ports(vector, udp: false))
        #expect(Self.key(behindOptions).hash(toeplitz) == vector.withPorts)
        // A first fragment (offset 0, more fragments): not hashed by its ports, nor at all.
        let fragment: (UInt8, [UInt8]) = (44, [0, 0, 0, 1, 0, 0, 0, 9])
        let fragmented = Self.frame(vector, extensions: [fragment], upper: 17, Self.ports(vector, udp: true))
        #expect(Self.key(fragmented) == .ipv6Unhashed(isNeighborAdvertisement: false))
        #expect(Self.key(fragmented).hash(toeplitz) == nil)
        // ICMPv6: an echo request is not hashed; a neighbour advertisement is marked for every core.
        let echo = Self.frame(vector, upper: 58, [128, 0, 0, 0, 0, 1, 0, 1])
        #expect(Self.key(echo) == .ipv6Unhashed(isNeighborAdvertisement: false))
        let advertisement = Self.frame(vector, upper: 58, [136, 0, 0, 0, 0x60, 0, 0, 0] + [UInt8](repeating: 0, count: 16))
        #expect(Self.key(advertisement).isNeighborAnswer)
        var copy = advertisement
        #expect(copy.withUnsafeMutableBytes { EthernetFrame.isNeighborAnswer($0) })
        #expect(!Self.key(echo).isNeighborAnswer && !Self.key(tcp).isNeighborAnswer)
        // A truncated TCP header: not hashed by ports.
        let short = Self.frame(vector, upper: 6, [0, 1, 2])
        #expect(Self.key(short).hash(toeplitz) == nil)
    }
}
