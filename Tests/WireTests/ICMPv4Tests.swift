import Testing
import Wire

/// Recomputes the checksum of an ICMP message held in an array.
func fixICMPChecksum(_ message: inout [UInt8]) {
    message[2] = 0
    message[3] = 0
    let sum = message.withUnsafeBytes { InternetChecksum.checksum($0) }
    message[2] = UInt8(sum >> 8)
    message[3] = UInt8(sum & 0xFF)
}

@Suite struct ICMPv4Tests {
    // Echo request, id 0x1234, seq 1, data "abcd", checksum 2104 worked by hand.
    static let echoRequest = hexBytes("0800 2104 1234 0001 6162 6364")

    // Port unreachable quoting a UDP datagram 10.0.0.2:5000 -> 10.0.0.1:53 whose
    // header carries 4 option bytes (IHL 6).
    static func portUnreachable() -> [UInt8] {
        var message = hexBytes(
            """
            0303 0000 0000 0000
            4600 0024 abcd 0000 4011 0000 0a00 0002 0a00 0001 01010100
            1388 0035 0010 1234
            """)
        fixICMPChecksum(&message)
        return message
    }

    @Test func parsesAKnownEchoRequest() throws {
        try withBuffer(Self.echoRequest) { bytes in
            let message = try ICMPv4Message(checking: bytes)
            let repr = try ICMPv4Repr.parse(message)
            #expect(repr == .echoRequest(identifier: 0x1234, sequenceNumber: 1, payloadLength: 4))
            #expect(Array(message.payload) == Array("abcd".utf8))
        }
    }

    @Test func echoReplyIsEmittedOverItsData() throws {
        let repr = ICMPv4Repr.echoReply(identifier: 0x1234, sequenceNumber: 1, payloadLength: 4)
        var storage = [UInt8](repeating: 0, count: repr.bufferLength)
        try storage.withUnsafeMutableBytes { bytes in
            let message = ICMPv4Message(unchecked: bytes)
            message.payload.copyBytes(from: Array("abcd".utf8))
            repr.emit(into: message)
            let parsed = try ICMPv4Repr.parse(try ICMPv4Message(checking: bytes))
            #expect(parsed == repr)
        }
        // A reply differs from the request only in type and checksum (0x2104 + 0x0800).
        #expect(storage == hexBytes("0000 2904 1234 0001 6162 6364"))
    }

    @Test func parsesAPortUnreachableWithQuotedOptions() throws {
        try withBuffer(Self.portUnreachable()) { bytes in
            let repr = try ICMPv4Repr.parse(try ICMPv4Message(checking: bytes))
            guard case .destinationUnreachable(let code, let mtu, let original) = repr else {
                Issue.record("parsed as \(repr)")
                return
            }
            #expect(code == .port)
            #expect(mtu == 0)
            #expect(original.header.source == IPv4Address(10, 0, 0, 2))
            #expect(original.header.destination == IPv4Address(10, 0, 0, 1))
            #expect(original.header.protocol == .udp)
            #expect(original.header.optionsLength == 4)
            #expect(original.header.payloadLength == 12)
            #expect(original.sourcePort == 5000)
            #expect(original.destinationPort == 53)
        }
    }

    static let quote = ICMPv4Quote(
        header: IPv4Repr(
            source: IPv4Address(10, 0, 0, 2), destination: IPv4Address(10, 0, 0, 1), protocol: .udp,
            payloadLength: 1400, identification: 7, dontFragment: true),
        leadingBytes: 0x1388_0035_0578_ABCD)

    static let errors: [ICMPv4Repr] = [
        .destinationUnreachable(code: .port, nextHopMTU: 0, original: quote),
        .destinationUnreachable(code: .fragmentationNeeded, nextHopMTU: 1280, original: quote),
        .timeExceeded(code: .timeToLive, original: quote),
        .timeExceeded(code: .fragmentReassembly, original: quote),
    ]

    @Test(arguments: errors)
    func errorsRoundTrip(repr: ICMPv4Repr) throws {
        var storage = [UInt8](repeating: 0xEE, count: repr.bufferLength)
        #expect(storage.count == 36)
        try storage.withUnsafeMutableBytes { bytes in
            repr.emit(into: ICMPv4Message(unchecked: bytes))
            let parsed = try ICMPv4Repr.parse(try ICMPv4Message(checking: bytes))
            #expect(parsed == repr)
            // The quoted header is a valid header of its own.
            #expect(InternetChecksum.isValid(UnsafeRawBufferPointer(rebasing: bytes[8..<28])))
        }
    }

    static let malformed: [(String, @Sendable (inout [UInt8]) -> Void, WireError)] = [
        ("shorter than 8 bytes", { $0.removeLast($0.count - 7) }, .truncated),
        ("checksum wrong", { $0[3] ^= 1 }, .badChecksum),
        ("timestamp request (type 13)", { $0[0] = 13; fixICMPChecksum(&$0) }, .unsupported),
        ("time exceeded code 2", { $0[0] = 11; $0[1] = 2; fixICMPChecksum(&$0) }, .unsupported),
        ("quote shorter than a header", { $0.removeLast($0.count - 27); fixICMPChecksum(&$0) }, .truncated),
        ("quote without its 8 bytes", { $0.removeLast(); fixICMPChecksum(&$0) }, .truncated),
        ("quoted version 6", { $0[8] = 0x66; fixICMPChecksum(&$0) }, .badVersion),
        ("quoted IHL 3", { $0[8] = 0x43; fixICMPChecksum(&$0) }, .badHeaderLength),
        ("quoted total length below IHL", { $0[10] = 0; $0[11] = 20; fixICMPChecksum(&$0) }, .badLength),
    ]

    @Test(arguments: 0..<ICMPv4Tests.malformed.count)
    func rejectsMalformedMessage(index: Int) {
        let (name, mutate, expected) = Self.malformed[index]
        // The first three mutate an echo request, the rest a port unreachable.
        var message = index < 3 ? Self.echoRequest : Self.portUnreachable()
        mutate(&message)
        withBuffer(message) { bytes in
            #expect(wireError { _ = try ICMPv4Repr.parse(try ICMPv4Message(checking: bytes)) } == expected, "\(name)")
        }
    }
}
