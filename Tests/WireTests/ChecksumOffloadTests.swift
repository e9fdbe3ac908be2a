import Testing
import Wire

/// The helpers drivers use to prepare a frame for checksum offload.
@Suite struct ChecksumOffloadTests {
    /// Ethernet + IPv4 (10.0.0.2 -> 10.0.0.1) + a UDP or TCP header and
    /// `payload` bytes, checksum fields zero.
    static func frame(_ transport: IPProtocol, payload: Int, headerLength: Int = 20) -> [UInt8] {
        let l4 = transport == .tcp ? TCPSegment.minimumHeaderLength : UDPDatagram.headerLength
        var frame = [UInt8](repeating: 0, count: 14 + headerLength + l4 + payload)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: .broadcast, source: MACAddress(2, 0, 0, 0, 0, 1), etherType: .ipv4)
                .emit(into: EthernetFrame(unchecked: bytes))
            IPv4Repr(source: IPv4Address(10, 0, 0, 2), destination: IPv4Address(10, 0, 0, 1), protocol: transport,
                     payloadLength: l4 + payload, optionsLength: headerLength - 20)
                .emit(into: IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])), computeChecksum: false)
            let transportBytes = UnsafeMutableRawBufferPointer(rebasing: bytes[(14 + headerLength)...])
            if transport == .udp { UDPDatagram(unchecked: transportBytes).length = l4 + payload }
        }
        for index in (frame.count - payload)..<frame.count { frame[index] = UInt8(truncatingIfNeeded: index) }
        return frame
    }

    @Test func theChecksumOffsetsAreTheFieldsTheViewsUse() {
        #expect(IPv4Packet.checksumOffset == 10)
        #expect(IPv4Packet.transportChecksumOffset(for: .tcp) == TCPSegment.checksumOffset)
        #expect(IPv4Packet.transportChecksumOffset(for: .udp) == UDPDatagram.checksumOffset)
        #expect(IPv4Packet.transportChecksumOffset(for: .icmp) == nil)
        var bytes = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeMutableBytes { raw in
            TCPSegment(unchecked: raw).checksum = 0xABCD
            #expect(raw[TCPSegment.checksumOffset] == 0xAB)
            UDPDatagram(unchecked: raw).checksum = 0x1234
            #expect(raw[UDPDatagram.checksumOffset] == 0x12)
            IPv4Packet(unchecked: raw).headerChecksum = 0x5678
            #expect(raw[IPv4Packet.checksumOffset] == 0x56)
        }
    }

    @Test func seedIsTheUncomplementedFoldedSum() {
        #expect(InternetChecksum.seed(0x1_2345) == 0x2346)
        #expect(InternetChecksum.seed(0xFFFF) == 0xFFFF)
        #expect(InternetChecksum.oddOffset(0x12AB) == 0xAB12)
    }

    @Test func aPieceAtAnOddOffsetSumsSwapped() {
        let bytes = hexBytes("01 0203 0405 06")
        bytes.withUnsafeBytes { raw in
            let whole = InternetChecksum.sum(raw)
            let head = InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[0..<1]))
            let tail = InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[1...]))
            #expect(InternetChecksum.combine(head, InternetChecksum.oddOffset(tail)) == whole)
        }
    }

    @Test(arguments: [IPProtocol.udp, .tcp])
    func theSeedMakesACompletedChecksumValid(transport: IPProtocol) throws {
        var frame = Self.frame(transport, payload: 37)
        try frame.withUnsafeMutableBytes { bytes in
            let ip = try #require(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 20, transport: transport))
            #expect(ip.carries(transport))
            ip.seedTransportChecksum()
            let field = 14 + 20 + IPv4Packet.transportChecksumOffset(for: transport)!
            let seed = UInt16(bytes[field]) << 8 | UInt16(bytes[field + 1])
            // 0a00 + 0002 + 0a00 + 0001 + protocol + transport length, by hand.
            let l4Length = bytes.count - 34
            #expect(UInt32(seed) == 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + UInt32(transport.rawValue) + UInt32(l4Length))
            #expect(UInt32(seed) == ip.pseudoHeaderSum)
            // What the device does: sum the transport bytes (seed included) and complement.
            let transportBytes = UnsafeMutableRawBufferPointer(rebasing: bytes[34...])
            let device = InternetChecksum.checksum(UnsafeRawBufferPointer(transportBytes))
            transportBytes.storeBytes(of: device.bigEndian, toByteOffset: field - 34, as: UInt16.self)
            if transport == .tcp {
                #expect(TCPSegment(unchecked: transportBytes).isChecksumValid(source: ip.source, destination: ip.destination))
            } else {
                #expect(UDPDatagram(unchecked: transportBytes).isChecksumValid(source: ip.source, destination: ip.destination))
            }
        }
    }

    @Test func requestsThatCannotBeMetAreRefused() {
        var udp = Self.frame(.udp, payload: 4)
        udp.withUnsafeMutableBytes { bytes in
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 20, transport: nil) != nil)
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 13, l3: 20, transport: .udp) == nil)  // no Ethernet header
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 19, transport: .udp) == nil)  // short IPv4 header
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 24, transport: .udp) == nil)  // not the header's length
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 20, transport: .icmp) == nil)
            let short = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<(14 + 20 + 7)])
            #expect(IPv4Packet(offloadRequestIn: short, l2: 14, l3: 20, transport: .udp) == nil)  // field cut off
            let ip = IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 20, transport: .udp)!
            #expect(!ip.carries(.tcp))
            ip.setVersionAndHeaderLength(20)
            bytes[14] = 0x65  // version 6
            #expect(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 20, transport: .udp) == nil)
        }
    }

    @Test func optionsAreCoveredByTheDeclaredHeaderLength() throws {
        var frame = Self.frame(.tcp, payload: 3, headerLength: 24)
        try frame.withUnsafeMutableBytes { bytes in
            let ip = try #require(IPv4Packet(offloadRequestIn: bytes, l2: 14, l3: 24, transport: .tcp))
            #expect(ip.pseudoHeaderSum == 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + 6 + 23)
        }
    }
}
