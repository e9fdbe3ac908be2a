import Testing
import Wire

@Suite struct ICMPv6Tests {
    static let mac = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)

    func parse(_ message: [UInt8], hopLimit: UInt8 = 255, source: IPv6Address = IPv6Bytes.a, destination: IPv6Address = IPv6Bytes.b) throws -> ICMPv6Repr {
        try withBuffer(message) {
            try ICMPv6Repr.parse(try ICMPv6Message(checking: $0), source: source, destination: destination, hopLimit: hopLimit)
        }
    }

    /// Emits `repr` (copying `body` in for echo and errors) and checks it
    /// against `expected` byte for byte.
    func emitted(_ repr: ICMPv6Repr, body: [UInt8] = [], source: IPv6Address = IPv6Bytes.a, destination: IPv6Address = IPv6Bytes.b) -> [UInt8] {
        var out = [UInt8](repeating: 0xA5, count: repr.bufferLength)
        out.withUnsafeMutableBytes { bytes in
            let message = ICMPv6Message(unchecked: bytes)
            if !body.isEmpty { message.body.copyBytes(from: body) }
            repr.emit(into: message, source: source, destination: destination)
        }
        return out
    }

    @Test func echoRoundTrips() throws {
        let request = IPv6Bytes.withChecksum([128, 0, 0, 0, 0x12, 0x34, 0, 7, 0x61, 0x62, 0x63], at: 2, next: 58)
        let repr = try parse(request, hopLimit: 64)
        #expect(repr == .echoRequest(identifier: 0x1234, sequenceNumber: 7, payloadLength: 3))
        #expect(emitted(repr, body: [0x61, 0x62, 0x63]) == request)
        var corrupt = request
        corrupt[9] ^= 1
        #expect(wireError { _ = try parse(corrupt, hopLimit: 64) } == .badChecksum)
    }

    @Test func errorsCarryTheirQuote() throws {
        // Packet Too Big, MTU 1400, quoting an IPv6/UDP packet 8080 -> 53.
        let quoted = IPv6Bytes.header(next: 17, payload: 1500, source: IPv6Bytes.b, destination: IPv6Bytes.a) + [0x1f, 0x90, 0, 53, 0x05, 0xdc, 0, 0]
        let message = IPv6Bytes.withChecksum([2, 0, 0, 0, 0, 0, 0x05, 0x78] + quoted, at: 2, next: 58)
        let repr = try parse(message, hopLimit: 64)
        #expect(repr == .packetTooBig(mtu: 1400, quoteLength: 48))
        #expect(emitted(repr, body: quoted) == message)
        let quote = try withBuffer(quoted) { try ICMPv6Quote.parse($0) }
        #expect(quote.header.destination == IPv6Bytes.a && quote.upperLayer == .udp)
        #expect(quote.ports?.source == 8080 && quote.ports?.destination == 53)
        for (type, expected) in [(UInt8(1), ICMPv6Repr.destinationUnreachable(code: 4, quoteLength: 48)), (3, .timeExceeded(code: 4, quoteLength: 48))] {
            let bytes = IPv6Bytes.withChecksum([type, 4, 0, 0, 0, 0, 0, 0] + quoted, at: 2, next: 58)
            #expect(try parse(bytes, hopLimit: 1) == expected)
            #expect(emitted(expected, body: quoted) == bytes)
        }
        let problem = IPv6Bytes.withChecksum([4, 1, 0, 0, 0, 0, 0, 6] + quoted, at: 2, next: 58)
        #expect(try parse(problem) == .parameterProblem(code: 1, pointer: 6, quoteLength: 48))
        #expect(wireError { _ = try withBuffer(Array(quoted[0..<39])) { try ICMPv6Quote.parse($0) } } == .truncated)
    }

    @Test func neighborSolicitationAndAdvertisement() throws {
        let target = IPv6Bytes.b
        let ns = ICMPv6Repr.ndp(.neighborSolicitation(target: target, options: NDPOptions(sourceLinkAddress: Self.mac)))
        let nsBytes = emitted(ns, destination: target.solicitedNodeMulticast)
        #expect(nsBytes.count == 32 && nsBytes[0] == 135 && Array(nsBytes[24..<26]) == [1, 1])
        #expect(try parse(nsBytes, destination: target.solicitedNodeMulticast) == ns)
        // Forwarded (hop limit 254): spoofed from off the link.
        #expect(wireError { _ = try parse(nsBytes, hopLimit: 254, destination: target.solicitedNodeMulticast) } == .badHopLimit)
        // DAD: unspecified source, no link-layer option, to the solicited-node group.
        let dad = ICMPv6Repr.ndp(.neighborSolicitation(target: target, options: NDPOptions()))
        let dadBytes = emitted(dad, source: .unspecified, destination: target.solicitedNodeMulticast)
        #expect(try parse(dadBytes, source: .unspecified, destination: target.solicitedNodeMulticast) == dad)
        #expect(wireError { _ = try parse(nsBytes, source: .unspecified, destination: target.solicitedNodeMulticast) } == .badChecksum)
        let na = ICMPv6Repr.ndp(.neighborAdvertisement(router: false, solicited: true, override: true, target: target, options: NDPOptions(targetLinkAddress: Self.mac)))
        let naBytes = emitted(na)
        #expect(naBytes[4] == 0x60)
        #expect(try parse(naBytes) == na)
        // Solicited flag to a multicast destination is invalid (RFC 4861 §7.1.2).
        let naMulticast = emitted(na, destination: .allNodes)
        #expect(wireError { _ = try parse(naMulticast, destination: .allNodes) } == .badAddress)
    }

    @Test func routerAdvertisementWithOptions() throws {
        let prefix = NDPPrefixInformation(prefix: IPv6Address("fd20::")!, prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400)
        let options = NDPOptions(sourceLinkAddress: Self.mac, mtu: 1500, prefix: prefix)
        let ra = ICMPv6Repr.ndp(.routerAdvertisement(hopLimit: 64, managed: false, other: true, routerLifetime: 1800, reachableTime: 0, retransmitTimer: 0, options: options))
        let bytes = emitted(ra, destination: .allNodes)
        #expect(bytes.count == 16 + 8 + 8 + 32)
        #expect(try parse(bytes, destination: .allNodes) == ra)
        var prefixes: [NDPPrefixInformation] = []
        try withBuffer(bytes) { NDPOptions.forEachPrefix(UnsafeMutableRawBufferPointer(rebasing: $0[16...])) { prefixes.append($0) } }
        #expect(prefixes == [prefix])
        // Router advertisements come from link-local addresses only.
        let offLink = emitted(ra, source: IPv6Bytes.b, destination: .allNodes)
        #expect(wireError { _ = try parse(offLink, source: IPv6Bytes.b, destination: .allNodes) } == .badAddress)
    }

    @Test func malformedNDPOptionsDropTheMessage() throws {
        var rs = [UInt8](repeating: 0, count: 16)
        rs[0] = 133
        rs[8] = 1  // source link-layer option with length 0
        #expect(wireError { _ = try parse(IPv6Bytes.withChecksum(rs, at: 2, next: 58)) } == .badOptionLength)
        rs[9] = 2  // 16 bytes of option in 8
        #expect(wireError { _ = try parse(IPv6Bytes.withChecksum(rs, at: 2, next: 58)) } == .badOptionLength)
        rs[8] = 99  // unknown option, right size: ignored
        rs[9] = 1
        #expect(try parse(IPv6Bytes.withChecksum(rs, at: 2, next: 58)) == .ndp(.routerSolicitation(options: NDPOptions())))
        var ns = [UInt8](repeating: 0, count: 24)
        ns[0] = 135
        ns[8] = 0xff  // a multicast target
        #expect(wireError { _ = try parse(IPv6Bytes.withChecksum(ns, at: 2, next: 58)) } == .badAddress)
        #expect(wireError { _ = try parse(IPv6Bytes.withChecksum(Array(ns[0..<20]), at: 2, next: 58)) } == .truncated)
        var unknown = [UInt8](repeating: 0, count: 8)
        unknown[0] = 200
        #expect(wireError { _ = try parse(IPv6Bytes.withChecksum(unknown, at: 2, next: 58)) } == .unsupported)
    }
}
