import Testing
import Wire

/// Builds IPv6 packets byte by byte for the tests (no Wire code involved).
enum IPv6Bytes {
    static let a = IPv6Address("fe80::5054:ff:fe12:3456")!
    static let b = IPv6Address("fd20::2")!

    static func address(_ x: IPv6Address) -> [UInt8] {
        (0..<8).flatMap { [UInt8(x.group($0) >> 8), UInt8(x.group($0) & 0xff)] }
    }

    static func header(next: UInt8, payload: Int, hopLimit: UInt8 = 64, source: IPv6Address = a, destination: IPv6Address = b) -> [UInt8] {
        [0x60, 0, 0, 0, UInt8(payload >> 8), UInt8(payload & 0xff), next, hopLimit] + address(source) + address(destination)
    }

    /// The checksum an upper layer needs, computed the slow way.
    static func checksum(_ message: [UInt8], next: UInt8, source: IPv6Address = a, destination: IPv6Address = b) -> UInt16 {
        let n = message.count
        let pseudo = address(source) + address(destination) + [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), 0, 0, 0, next]
        return ~UInt16(referenceChecksumSum(pseudo + message))
    }

    static func withChecksum(_ message: [UInt8], at offset: Int, next: UInt8, source: IPv6Address = a, destination: IPv6Address = b) -> [UInt8] {
        var m = message
        m[offset] = 0
        m[offset + 1] = 0
        let value = checksum(m, next: next, source: source, destination: destination)
        m[offset] = UInt8(value >> 8)
        m[offset + 1] = UInt8(value & 0xff)
        return m
    }

    /// An options header (hop-by-hop or destination) of 8 bytes with PadN.
    static func optionsHeader(next: UInt8, option: [UInt8] = [1, 4, 0, 0, 0, 0]) -> [UInt8] { [next, 0] + option }
}

@Suite struct IPv6Tests {
    @Test func parsesAndEmitsTheFixedHeader() throws {
        let bytes = IPv6Bytes.header(next: 17, payload: 4, hopLimit: 9) + [1, 2, 3, 4, 0xEE]  // one byte of padding
        try withBuffer(bytes) { buffer in
            let packet = try IPv6Packet(checking: buffer)
            let repr = try IPv6Repr.parse(packet)
            #expect(repr == IPv6Repr(source: IPv6Bytes.a, destination: IPv6Bytes.b, nextHeader: .udp, payloadLength: 4, hopLimit: 9))
            #expect(Array(packet.payload) == [1, 2, 3, 4])
            var out = [UInt8](repeating: 0xA5, count: 40)
            out.withUnsafeMutableBytes { repr.emit(into: IPv6Packet(unchecked: $0)) }
            #expect(out == Array(bytes[0..<40]))
        }
    }

    @Test func rejectsBadFixedHeaders() {
        var wrongVersion = IPv6Bytes.header(next: 17, payload: 0)
        wrongVersion[0] = 0x40
        #expect(wireError { try withBuffer(wrongVersion) { _ = try IPv6Packet(checking: $0) } } == .badVersion)
        #expect(wireError { try withBuffer(IPv6Bytes.header(next: 17, payload: 9) + [0]) { _ = try IPv6Packet(checking: $0) } } == .truncated)
        #expect(wireError { try withBuffer(Array(IPv6Bytes.header(next: 17, payload: 0)[0..<39])) { _ = try IPv6Packet(checking: $0) } } == .truncated)
        let multicastSource = IPv6Bytes.header(next: 17, payload: 0, source: .allNodes)
        #expect(wireError { try withBuffer(multicastSource) { _ = try IPv6Repr.parse(try IPv6Packet(checking: $0)) } } == .badAddress)
    }

    @Test func walksExtensionHeaders() throws {
        // hop-by-hop (router alert) -> destination options -> UDP.
        let chain = IPv6Bytes.optionsHeader(next: 60, option: [5, 2, 0, 0, 1, 0]) + IPv6Bytes.optionsHeader(next: 17) + [0, 1, 0, 2]
        let parsed = try withBuffer(chain) { try IPv6HeaderChain.parse($0, first: .ipv6HopByHop) }
        #expect(parsed == IPv6HeaderChain(upperLayer: .udp, upperLayerOffset: 16, headerCount: 2))
        // A routing header (type 2) with segments left 0 is skipped.
        let routing: [UInt8] = [58, 0, 2, 0, 0, 0, 0, 0]
        #expect(try withBuffer(routing) { try IPv6HeaderChain.parse($0, first: .ipv6Routing) }.upperLayer == .icmpv6)
    }

    @Test func refusesHostileChains() {
        func error(_ bytes: [UInt8], first: IPProtocol) -> WireError? {
            wireError { try withBuffer(bytes) { _ = try IPv6HeaderChain.parse($0, first: first) } }
        }
        // Hundreds of destination options headers.
        let long = (0..<300).flatMap { _ in IPv6Bytes.optionsHeader(next: 60) }
        #expect(error(long, first: .ipv6DestinationOptions) == .extensionChainTooLong)
        // Hop-by-hop anywhere but first.
        #expect(error(IPv6Bytes.optionsHeader(next: 0) + IPv6Bytes.optionsHeader(next: 17), first: .ipv6DestinationOptions) == .badExtensionHeader)
        // RH0 with segments left, and another type with segments left.
        #expect(error([58, 2, 0, 1, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16), first: .ipv6Routing) == .deprecatedRoutingHeader)
        #expect(error([58, 0, 4, 1, 0, 0, 0, 0], first: .ipv6Routing) == .badExtensionHeader)
        // Length past the payload, a header cut short, an option past its header.
        #expect(error([17, 1, 1, 4, 0, 0, 0, 0], first: .ipv6DestinationOptions) == .truncated)
        #expect(error([17, 0, 1], first: .ipv6HopByHop) == .truncated)
        #expect(error(IPv6Bytes.optionsHeader(next: 17, option: [1, 9, 0, 0, 0, 0]), first: .ipv6DestinationOptions) == .badExtensionHeader)
        // Unknown option type 0x80 (discard + ICMP) and 0x00-range skipped.
        #expect(error(IPv6Bytes.optionsHeader(next: 17, option: [0x80, 4, 0, 0, 0, 0]), first: .ipv6DestinationOptions) == .badExtensionHeader)
        #expect(error(IPv6Bytes.optionsHeader(next: 17, option: [0x1E, 4, 0, 0, 0, 0]), first: .ipv6DestinationOptions) == nil)
        // Two fragment headers (the first atomic, so the walk reaches the second).
        #expect(error([44, 0, 0, 0, 0, 0, 0, 1, 17, 0, 0, 1, 0, 0, 0, 2], first: .ipv6Fragment) == .badExtensionHeader)
    }

    @Test func readsFragmentHeaders() throws {
        // Offset 1480, more fragments, id 0x01020304, UDP next.
        let bytes: [UInt8] = [17, 0, 0x05, 0xC9, 1, 2, 3, 4, 0xAA]
        let chain = try withBuffer(bytes) { try IPv6HeaderChain.parse($0, first: .ipv6Fragment) }
        let fragment = IPv6FragmentHeader(nextHeader: .udp, fragmentOffset: 1480, moreFragments: true, identification: 0x0102_0304)
        #expect(chain == IPv6HeaderChain(upperLayer: .udp, upperLayerOffset: 8, fragment: fragment, fragmentHeaderOffset: 0, headerCount: 1))
        var out = [UInt8](repeating: 0xA5, count: 8)
        out.withUnsafeMutableBytes { fragment.emit(into: $0) }
        #expect(out == Array(bytes[0..<8]))
        // An atomic fragment (RFC 6946) is walked through, not reassembled.
        let atomic = try withBuffer([17, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 2]) { try IPv6HeaderChain.parse($0, first: .ipv6Fragment) }
        #expect(atomic.fragment == nil && atomic.upperLayer == .udp && atomic.upperLayerOffset == 8)
    }

    @Test func pseudoHeaderSumMatchesTheReference() {
        var rng = SplitMix(state: 6)
        for length in [0, 1, 8, 1500, 65_535, 70_000] {
            let s = IPv6Address(high: rng.next(), low: rng.next()), d = IPv6Address(high: rng.next(), low: rng.next())
            let pseudo = IPv6Bytes.address(s) + IPv6Bytes.address(d)
                + [UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0, 0, 0, 58]
            #expect(InternetChecksum.pseudoHeaderSum(source: s, destination: d, nextHeader: .icmpv6, length: length) == referenceChecksumSum(pseudo))
        }
    }

    @Test func udpOverIPv6NeedsItsChecksum() throws {
        var datagram: [UInt8] = [0x04, 0xd2, 0, 7, 0, 10, 0, 0, 0x68, 0x69]
        datagram = IPv6Bytes.withChecksum(datagram, at: 6, next: 17)
        try withBuffer(datagram) { bytes in
            let view = try UDPDatagram(checking: bytes)
            #expect(try UDPRepr.parse(view, source: IPv6Bytes.a, destination: IPv6Bytes.b).payloadLength == 2)
            #expect(wireError { _ = try UDPRepr.parse(view, source: .loopback, destination: IPv6Bytes.a) } == .badChecksum)
            var out = [UInt8](repeating: 0, count: 10)
            out.withUnsafeMutableBytes { o in
                o.copyMemory(from: UnsafeRawBufferPointer(bytes))
                UDPRepr(sourcePort: 1234, destinationPort: 7, payloadLength: 2).emit(into: UDPDatagram(unchecked: o), source: IPv6Bytes.a, destination: IPv6Bytes.b)
            }
            #expect(out == datagram)
            view.checksum = 0  // "no checksum" is not allowed over IPv6
            #expect(wireError { _ = try UDPRepr.parse(view, source: IPv6Bytes.a, destination: IPv6Bytes.b) } == .badChecksum)
        }
    }

    @Test func tcpOverIPv6Checksums() throws {
        var segment: [UInt8] = [0x1f, 0x90, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]
        segment = IPv6Bytes.withChecksum(segment, at: 16, next: 6)
        try withBuffer(segment) { bytes in
            let repr = try TCPRepr.parse(try TCPSegment(checking: bytes), source: IPv6Bytes.a, destination: IPv6Bytes.b)
            #expect(repr.sourcePort == 8080 && repr.flags.contains(.syn))
            var out = [UInt8](repeating: 0, count: 20)
            out.withUnsafeMutableBytes { repr.emit(into: TCPSegment(unchecked: $0), source: IPv6Bytes.a, destination: IPv6Bytes.b) }
            #expect(out == segment)
        }
    }
}
