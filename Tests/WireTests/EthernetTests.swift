import Testing
import Wire

@Suite struct EthernetTests {
    let destination = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
    let source = MACAddress(0x02, 0x00, 0x00, 0xAA, 0xBB, 0xCC)

    @Test func parsesAnUntaggedFrame() throws {
        let frame = hexBytes("525400123456 020000aabbcc 0800 45")
        try withBuffer(frame) { bytes in
            let view = try EthernetFrame(checking: bytes)
            let repr = EthernetRepr.parse(view)
            #expect(repr == EthernetRepr(destination: destination, source: source, etherType: .ipv4))
            #expect(view.headerLength == 14)
            #expect(Array(view.payload) == [0x45])
        }
    }

    @Test func parsesA8021QTaggedFrame() throws {
        // PCP 5, DEI 1, VID 0x123, carrying ARP.
        let frame = hexBytes("525400123456 020000aabbcc 8100 b123 0806 0001")
        try withBuffer(frame) { bytes in
            let view = try EthernetFrame(checking: bytes)
            let repr = EthernetRepr.parse(view)
            #expect(repr.etherType == .arp)
            #expect(repr.vlanTag == VLANTag(identifier: 0x123, priority: 5, dropEligible: true))
            #expect(view.headerLength == 18)
            #expect(Array(view.payload) == [0x00, 0x01])
        }
    }

    @Test(arguments: [nil, VLANTag(identifier: 4095, priority: 7)])
    func emitThenParseRoundTrips(tag: VLANTag?) throws {
        let repr = EthernetRepr(destination: destination, source: source, etherType: .ipv4, vlanTag: tag)
        var storage = [UInt8](repeating: 0xEE, count: repr.headerLength)
        try storage.withUnsafeMutableBytes { bytes in
            repr.emit(into: EthernetFrame(unchecked: bytes))
            let parsed = EthernetRepr.parse(try EthernetFrame(checking: bytes))
            #expect(parsed == repr)
        }
        #expect(storage.count == (tag == nil ? 14 : 18))
    }

    @Test func rejectsTruncatedFrames() {
        let untagged = hexBytes("525400123456 020000aabbcc 08")
        let tagged = hexBytes("525400123456 020000aabbcc 8100 0001 08")
        withBuffer(untagged) { bytes in
            #expect(wireError { _ = try EthernetFrame(checking: bytes) } == .truncated)
        }
        withBuffer(tagged) { bytes in
            #expect(wireError { _ = try EthernetFrame(checking: bytes) } == .truncated)
        }
        withBuffer([]) { bytes in
            #expect(wireError { _ = try EthernetFrame(checking: bytes) } == .truncated)
        }
    }
}

@Suite struct ARPTests {
    // Who has 10.0.0.2? Tell 10.0.0.1 (52:54:00:12:34:56).
    let request = hexBytes("0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002")

    @Test func parsesARequest() throws {
        try withBuffer(request) { bytes in
            let repr = try ARPRepr.parse(try ARPPacket(checking: bytes))
            #expect(repr.operation == .request)
            #expect(repr.senderHardwareAddress == MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56))
            #expect(repr.senderProtocolAddress == IPv4Address(10, 0, 0, 1))
            #expect(repr.targetHardwareAddress == .zero)
            #expect(repr.targetProtocolAddress == IPv4Address(10, 0, 0, 2))
        }
    }

    @Test func emitsTheSameBytes() throws {
        let repr = try withBuffer(request) { bytes in try ARPRepr.parse(try ARPPacket(checking: bytes)) }
        var storage = [UInt8](repeating: 0xEE, count: repr.bufferLength)
        storage.withUnsafeMutableBytes { repr.emit(into: ARPPacket(unchecked: $0)) }
        #expect(storage == request)
    }

    @Test func replyRoundTrips() throws {
        let reply = ARPRepr(
            operation: .reply, senderHardwareAddress: MACAddress(2, 0, 0, 0, 0, 1),
            senderProtocolAddress: IPv4Address(10, 0, 0, 2),
            targetHardwareAddress: MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56),
            targetProtocolAddress: IPv4Address(10, 0, 0, 1))
        var storage = [UInt8](repeating: 0, count: 28)
        try storage.withUnsafeMutableBytes { bytes in
            reply.emit(into: ARPPacket(unchecked: bytes))
            let parsed = try ARPRepr.parse(try ARPPacket(checking: bytes))
            #expect(parsed == reply)
        }
    }

    @Test func rejectsMalformedPackets() {
        var truncatedFixed = request
        truncatedFixed.removeLast(21)
        var truncatedAddresses = request
        truncatedAddresses.removeLast()
        var tokenRing = request
        tokenRing[1] = 6
        var ipv6 = request
        ipv6[2] = 0x86
        ipv6[3] = 0xDD
        var longHardware = request
        longHardware[4] = 8
        var longProtocol = request
        longProtocol[5] = 16
        var rarp = request
        rarp[7] = 3
        let cases: [([UInt8], WireError)] = [
            (truncatedFixed, .truncated), (truncatedAddresses, .truncated), (tokenRing, .unsupported),
            (ipv6, .unsupported), (longHardware, .unsupported), (longProtocol, .unsupported),
            (rarp, .unsupported),
        ]
        for (packet, expected) in cases {
            withBuffer(packet) { bytes in
                #expect(wireError { _ = try ARPRepr.parse(try ARPPacket(checking: bytes)) } == expected)
            }
        }
    }
}
