import Testing
import Wire

/// Fills a TCP checksum with the simple reference sum, independent of `InternetChecksum`.
func fixTCPChecksum(_ segment: inout [UInt8], source: IPv4Address, destination: IPv4Address) {
    segment[16] = 0
    segment[17] = 0
    var pseudo: [UInt8] = []
    for address in [source, destination] {
        pseudo += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: address.value >> $0) }
    }
    pseudo += [0, 6, UInt8(segment.count >> 8), UInt8(segment.count & 0xFF)]
    let sum = referenceChecksumSum(pseudo + (segment.count % 2 == 0 ? segment : segment + [0]))
    let checksum = ~UInt16(sum)
    segment[16] = UInt8(checksum >> 8)
    segment[17] = UInt8(checksum & 0xFF)
}

@Suite struct TCPTests {
    static let source = IPv4Address(10, 0, 0, 1)
    static let destination = IPv4Address(10, 0, 0, 2)

    /// A SYN as Linux lays it out: 40000 -> 80, seq 0x01020304, window 64240,
    /// MSS 1460, SACK permitted, timestamps (0x11223344, 0), NOP, window scale 7.
    static func linuxSYN() -> [UInt8] {
        var segment = hexBytes(
            """
            9c40 0050 01020304 00000000 a002 faf0 0000 0000
            020405b4 0402 080a 11223344 00000000 01 030307
            """)
        fixTCPChecksum(&segment, source: source, destination: destination)
        return segment
    }

    /// An ACK with data offset 5 + `options` (padded by the caller) and a 3-byte payload.
    static func segment(options: [UInt8], payload: [UInt8] = [0x61, 0x62, 0x63]) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let offset = UInt8((20 + options.count) / 4) << 4
        var segment = hexBytes("0050 9c40 00000001 00000002") + [offset, 0x10] + hexBytes("ffff 0000 0000")
        segment += options + payload
        fixTCPChecksum(&segment, source: source, destination: destination)
        return segment
    }

    @Test func parsesALinuxSYN() throws {
        try withBuffer(Self.linuxSYN()) { bytes in
            let view = try TCPSegment(checking: bytes)
            let repr = try TCPRepr.parse(view, source: Self.source, destination: Self.destination)
            #expect(repr.sourcePort == 40000)
            #expect(repr.destinationPort == 80)
            #expect(repr.sequenceNumber == 0x0102_0304)
            #expect(repr.flags == .syn)
            #expect(repr.window == 64240)
            #expect(repr.options.maximumSegmentSize == 1460)
            #expect(repr.options.sackPermitted)
            #expect(repr.options.timestamp?.value == 0x1122_3344)
            #expect(repr.options.timestamp?.echoReply == 0)
            #expect(repr.options.windowScale == 7)
            #expect(repr.options.sackBlocks.isEmpty)
            #expect(view.payload.isEmpty)
            #expect(repr.sequenceLength(payloadLength: 0) == 1)
        }
    }

    static let optionSets: [TCPOptions] = [
        TCPOptions(),
        TCPOptions(maximumSegmentSize: 536),
        TCPOptions(sackPermitted: true),
        TCPOptions(timestamp: (1, 2)),
        TCPOptions(windowScale: 14),
        TCPOptions(maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true, timestamp: (0xFFFF_FFFF, 7)),
        TCPOptions(
            sackBlocks: TCPSACKBlocks([
                TCPSACKBlock(left: 100, right: 200), TCPSACKBlock(left: 300, right: 400),
                TCPSACKBlock(left: 500, right: 600), TCPSACKBlock(left: 0xFFFF_FF00, right: 16),
            ])),
        TCPOptions(
            sackBlocks: TCPSACKBlocks([TCPSACKBlock(left: 1, right: 2), TCPSACKBlock(left: 3, right: 4)]),
            timestamp: (9, 8)),
    ]

    @Test(arguments: optionSets)
    func emitThenParseRoundTrips(options: TCPOptions) throws {
        let repr = TCPRepr(
            sourcePort: 5000, destinationPort: 443, sequenceNumber: 0xDEAD_BEEF, acknowledgmentNumber: 0x0BAD_F00D,
            flags: [.ack, .psh], window: 1234, urgentPointer: 0, options: options)
        #expect(repr.headerLength % 4 == 0 && repr.headerLength <= 60)
        let payload = Array("hello".utf8)
        var storage = [UInt8](repeating: 0xEE, count: repr.headerLength + payload.count)
        try storage.withUnsafeMutableBytes { bytes in
            bytes.baseAddress!.advanced(by: repr.headerLength).copyMemory(from: payload, byteCount: payload.count)
            repr.emit(into: TCPSegment(unchecked: bytes), source: Self.source, destination: Self.destination)
            let view = try TCPSegment(checking: bytes)
            let parsed = try TCPRepr.parse(view, source: Self.source, destination: Self.destination)
            #expect(parsed == repr)
            #expect(Array(view.payload) == payload)
        }
        // The reference checksum agrees with the one emitted.
        var reference = storage
        fixTCPChecksum(&reference, source: Self.source, destination: Self.destination)
        #expect(reference == storage)
    }

    @Test func sackBlocksThatDoNotFitAreDropped() throws {
        let four = TCPSACKBlocks((1...4).map { TCPSACKBlock(left: UInt32($0) * 10, right: UInt32($0) * 10 + 5) })
        let repr = TCPRepr(
            sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .ack, window: 4,
            options: TCPOptions(sackBlocks: four, timestamp: (5, 6)))
        #expect(repr.headerLength == 60)
        var storage = [UInt8](repeating: 0, count: repr.headerLength)
        try storage.withUnsafeMutableBytes { bytes in
            repr.emit(into: TCPSegment(unchecked: bytes), source: Self.source, destination: Self.destination)
            let parsed = try TCPRepr.parse(try TCPSegment(checking: bytes), source: Self.source, destination: Self.destination)
            #expect(Array(parsed.options.sackBlocks) == Array(four.prefix(3)))
            #expect(parsed.options.timestamp?.value == 5)
        }
    }

    @Test func unknownOptionsAreSkippedByLength() throws {
        // MPTCP-like kind 30 (length 6), then MSS, then kind 254 (length 2), four NOPs.
        let options = hexBytes("1e06 00000000 0204 0218 fe02 0101 0101")
        try withBuffer(Self.segment(options: options)) { bytes in
            let repr = try TCPRepr.parse(try TCPSegment(checking: bytes), source: Self.source, destination: Self.destination)
            #expect(repr.options == TCPOptions(maximumSegmentSize: 536))
        }
    }

    @Test func endOfListStopsParsing() throws {
        // EOL, then bytes that would be a malformed option if read.
        let options = hexBytes("0204 05b4 00 02 01 ff")
        try withBuffer(Self.segment(options: options)) { bytes in
            let repr = try TCPRepr.parse(try TCPSegment(checking: bytes), source: Self.source, destination: Self.destination)
            #expect(repr.options == TCPOptions(maximumSegmentSize: 1460))
        }
    }

    /// NOP NOP TS, read at once (the fast path), and 12-byte lists that
    /// only start like it, read by the general loop.
    @Test(arguments: [
        ("0101 080a 11223344 55667788", TCPOptions(timestamp: (0x1122_3344, 0x5566_7788))),
        ("0101 080a 00000000 ffffffff", TCPOptions(timestamp: (0, 0xFFFF_FFFF))),
        ("0101 0101 0101 0101 0101 0101", TCPOptions()),
        ("0101 0402 0101 080a 0000 0009", nil),  // TS running past the header
        ("080a 11223344 55667788 0101", TCPOptions(timestamp: (0x1122_3344, 0x5566_7788))),
        ("0101 0101 0204 05b4 0303 0700", TCPOptions(maximumSegmentSize: 1460, windowScale: 7)),
    ] as [(String, TCPOptions?)])
    func parsesTwelveOptionBytes(options: String, expected: TCPOptions?) {
        withBuffer(Self.segment(options: hexBytes(options))) { bytes in
            let repr = try? TCPRepr.parse(try TCPSegment(checking: bytes), source: Self.source, destination: Self.destination)
            #expect(repr?.options == expected, "\(options)")
        }
    }

    @Test func payloadAndChecksumOffload() throws {
        let repr = TCPRepr(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, flags: .ack, window: 4)
        var storage = [UInt8](repeating: 0x55, count: 21)
        storage.withUnsafeMutableBytes { bytes in
            let view = TCPSegment(unchecked: bytes)
            repr.emit(into: view, source: Self.source, destination: Self.destination, checksum: .pseudoHeaderOnly)
            // 0a00+0001+0a00+0002+0006+0015 (length 21)
            #expect(view.checksum == 0x141E)
            #expect(view.payload.count == 1)
            #expect(!view.isChecksumValid(source: Self.source, destination: Self.destination))
            view.fillChecksum(source: Self.source, destination: Self.destination)
            #expect(view.isChecksumValid(source: Self.source, destination: Self.destination))
        }
    }

    static let malformed: [(String, [UInt8], WireError)] = [
        ("shorter than 20 bytes", Array(segment(options: [], payload: []).prefix(19)), .truncated),
        ("data offset 4", { var s = segment(options: []); s[12] = 0x40; return s }(), .badHeaderLength),
        ("data offset 15 in 23 bytes", { var s = segment(options: []); s[12] = 0xF0; return s }(), .truncated),
        ("checksum wrong", { var s = segment(options: []); s[17] ^= 1; return s }(), .badChecksum),
        ("option length 0", segment(options: hexBytes("1e00 0000")), .badOptionLength),
        ("option length 1", segment(options: hexBytes("1e01 0000")), .badOptionLength),
        ("option past the header", segment(options: hexBytes("0101 1e04")), .badOptionLength),
        ("kind without length byte", segment(options: hexBytes("0101 0102")), .badOptionLength),
        ("MSS length 3", segment(options: hexBytes("0203 0001")), .badOptionLength),
        ("MSS length 6", segment(options: hexBytes("0206 0000 0000 0101")), .badOptionLength),
        ("window scale length 4", segment(options: hexBytes("0304 0700")), .badOptionLength),
        ("SACK permitted length 3", segment(options: hexBytes("0403 0001")), .badOptionLength),
        ("SACK without blocks", segment(options: hexBytes("0502 0101")), .badOptionLength),
        ("SACK block of 7 bytes", segment(options: hexBytes("0509 0000 0001 0000 0002 0101")), .badOptionLength),
        ("timestamp length 8", segment(options: hexBytes("0808 0000 0001 0000")), .badOptionLength),
    ]

    @Test(arguments: 0..<TCPTests.malformed.count)
    func rejectsMalformedSegment(index: Int) {
        let (name, segment, expected) = Self.malformed[index]
        withBuffer(segment) { bytes in
            let error = wireError {
                _ = try TCPRepr.parse(try TCPSegment(checking: bytes), source: Self.source, destination: Self.destination)
            }
            #expect(error == expected, "\(name)")
        }
    }
}
