import Testing
import Wire

@Suite struct IPv4Tests {
    // 192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64, total length 0x73 (115).
    static let headerHex = "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7"
    static func packet(extraTail: Int = 0) -> [UInt8] {
        hexBytes(headerHex) + [UInt8](repeating: 0xAB, count: 95 + extraTail)
    }

    @Test func parsesAKnownHeader() throws {
        try withBuffer(Self.packet(extraTail: 6)) { bytes in
            let view = try IPv4Packet(checking: bytes)
            let repr = try IPv4Repr.parse(view)
            #expect(repr.source == IPv4Address(192, 168, 0, 1))
            #expect(repr.destination == IPv4Address(192, 168, 0, 199))
            #expect(repr.protocol == .udp)
            #expect(repr.payloadLength == 95)
            #expect(repr.timeToLive == 64)
            #expect(repr.dontFragment && !repr.moreFragments && repr.fragmentOffset == 0)
            #expect(!repr.isFragment)
            #expect(repr.optionsLength == 0)
            // Ethernet padding after the total length is not payload.
            #expect(view.payload.count == 95)
        }
    }

    @Test func emitThenParseRoundTripsWithOptionsAndFragments() throws {
        let repr = IPv4Repr(
            source: IPv4Address(10, 1, 2, 3), destination: IPv4Address(10, 3, 2, 1), protocol: .icmp,
            payloadLength: 64, timeToLive: 1, identification: 0xBEEF, dontFragment: false,
            moreFragments: true, fragmentOffset: 1480, dscp: 46, ecn: 2, optionsLength: 8)
        var storage = [UInt8](repeating: 0xEE, count: repr.totalLength)
        try storage.withUnsafeMutableBytes { bytes in
            repr.emit(into: IPv4Packet(unchecked: bytes))
            let view = try IPv4Packet(checking: bytes)
            #expect(view.headerLength == 28)
            #expect(Array(view.options) == [UInt8](repeating: 0, count: 8))
            let parsed = try IPv4Repr.parse(view)
            #expect(parsed == repr)
            #expect(view.isFragment)
        }
    }

    @Test func optionsWrittenAfterEmitAreKept() throws {
        let repr = IPv4Repr(
            source: IPv4Address(1, 1, 1, 1), destination: IPv4Address(2, 2, 2, 2), protocol: .tcp,
            payloadLength: 0, optionsLength: 4)
        var storage = [UInt8](repeating: 0, count: repr.totalLength)
        try storage.withUnsafeMutableBytes { bytes in
            let view = IPv4Packet(unchecked: bytes)
            repr.emit(into: view)
            // Router alert (RFC 2113): 94 04 00 00.
            view.options.copyBytes(from: [0x94, 0x04, 0x00, 0x00])
            view.fillChecksum()
            let parsed = try IPv4Repr.parse(try IPv4Packet(checking: bytes))
            #expect(parsed.optionsLength == 4)
            let options = Array(try IPv4Packet(checking: bytes).options)
            #expect(options == [0x94, 0x04, 0x00, 0x00])
        }
    }

    @Test func emitWithoutChecksumLeavesItForTheNIC() throws {
        let repr = IPv4Repr(
            source: IPv4Address(1, 1, 1, 1), destination: IPv4Address(2, 2, 2, 2), protocol: .udp, payloadLength: 0)
        var storage = [UInt8](repeating: 0xFF, count: 20)
        try storage.withUnsafeMutableBytes { bytes in
            repr.emit(into: IPv4Packet(unchecked: bytes), computeChecksum: false)
            let view = try IPv4Packet(checking: bytes)
            #expect(view.headerChecksum == 0)
            #expect(wireError { _ = try IPv4Repr.parse(view) } == .badChecksum)
            let unverified = try IPv4Repr.parse(view, verifyChecksum: false)
            #expect(unverified == repr)
        }
    }

    /// Each malformation with the reason it must give.
    static let malformed: [(String, @Sendable (inout [UInt8]) -> Void, WireError)] = [
        ("shorter than 20 bytes", { $0.removeLast($0.count - 19) }, .truncated),
        ("version 6", { $0[0] = 0x65 }, .badVersion),
        ("IHL 4", { $0[0] = 0x44 }, .badHeaderLength),
        ("IHL 15 in a 20-byte buffer", { $0[0] = 0x4F; $0.removeLast($0.count - 20) }, .truncated),
        ("total length below IHL", { $0[2] = 0; $0[3] = 19 }, .badLength),
        ("total length beyond the buffer", { $0.removeLast() }, .truncated),
        ("checksum off by one", { $0[11] ^= 1 }, .badChecksum),
        ("payload bit flipped", { $0[13] ^= 0x80 }, .badChecksum),
        (
            "fragment ending past 65535",
            { packet in
                // Offset 65528 (field 8191) with 95 payload bytes; fix the checksum.
                packet[6] = 0x1F
                packet[7] = 0xFF
                packet[10] = 0
                packet[11] = 0
                let sum = packet[0..<20].withUnsafeBytes { InternetChecksum.checksum($0) }
                packet[10] = UInt8(sum >> 8)
                packet[11] = UInt8(sum & 0xFF)
            }, .badFragmentOffset
        ),
    ]

    @Test(arguments: 0..<IPv4Tests.malformed.count)
    func rejectsMalformedPacket(index: Int) {
        let (name, mutate, expected) = Self.malformed[index]
        var packet = Self.packet()
        mutate(&packet)
        withBuffer(packet) { bytes in
            let error = wireError { _ = try IPv4Repr.parse(try IPv4Packet(checking: bytes)) }
            #expect(error == expected, "\(name)")
        }
    }

    @Test func everyReasonHasAStableDistinctName() {
        let names = WireError.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(WireError.badChecksum.name == "bad_checksum")
        #expect(names.allSatisfy { !$0.isEmpty && $0 == $0.lowercased() && !$0.contains(" ") })
    }
}
