import Testing
import Wire

@Suite struct UDPTests {
    static let source = IPv4Address(10, 0, 0, 1)
    static let destination = IPv4Address(10, 0, 0, 2)
    // 1234 -> 7, length 10, checksum 7e95 (worked by hand), payload "hi".
    static let datagram = hexBytes("04d2 0007 000a 7e95 6869")

    @Test func parsesAKnownDatagram() throws {
        try withBuffer(Self.datagram + [0, 0, 0]) { bytes in
            let view = try UDPDatagram(checking: bytes)
            let repr = try UDPRepr.parse(view, source: Self.source, destination: Self.destination)
            #expect(repr == UDPRepr(sourcePort: 1234, destinationPort: 7, payloadLength: 2))
            #expect(Array(view.payload) == Array("hi".utf8))
        }
    }

    @Test func emitsTheKnownDatagram() {
        var storage = [UInt8](repeating: 0, count: 10)
        storage.withUnsafeMutableBytes { bytes in
            // Header first (payload is sized by the length field), then data, then checksum.
            let view = UDPDatagram(unchecked: bytes)
            UDPRepr(sourcePort: 1234, destinationPort: 7, payloadLength: 2)
                .emit(into: view, source: Self.source, destination: Self.destination, checksum: .omit)
            view.payload.copyBytes(from: Array("hi".utf8))
            view.fillChecksum(source: Self.source, destination: Self.destination)
        }
        #expect(storage == Self.datagram)
    }

    @Test func zeroChecksumMeansNoneOnReceive() throws {
        var datagram = Self.datagram
        datagram[6] = 0
        datagram[7] = 0
        datagram[9] ^= 0xFF  // corrupt the payload: nothing can tell without a checksum
        try withBuffer(datagram) { bytes in
            let repr = try UDPRepr.parse(try UDPDatagram(checking: bytes), source: Self.source, destination: Self.destination)
            #expect(repr.payloadLength == 2)
        }
    }

    @Test func computedZeroIsSentAsAllOnes() throws {
        // Choose the payload word so that everything sums to 0xFFFF: checksum 0.
        let repr = UDPRepr(sourcePort: 1234, destinationPort: 7, payloadLength: 2)
        var storage = [UInt8](repeating: 0, count: 10)
        try storage.withUnsafeMutableBytes { bytes in
            let view = UDPDatagram(unchecked: bytes)
            repr.emit(into: view, source: Self.source, destination: Self.destination, checksum: .omit)
            let pseudo = InternetChecksum.pseudoHeaderSum(
                source: Self.source, destination: Self.destination, protocol: .udp, length: 10)
            let partial = InternetChecksum.sum(bytes, initial: pseudo)
            view.payload.storeBytes(of: (0xFFFF - UInt16(partial)).bigEndian, as: UInt16.self)
            repr.emit(into: view, source: Self.source, destination: Self.destination)
            #expect(view.checksum == 0xFFFF)
            let parsed = try UDPRepr.parse(view, source: Self.source, destination: Self.destination)
            #expect(parsed == repr)
        }
    }

    @Test func offloadStoresThePseudoHeaderSum() {
        var storage = [UInt8](repeating: 0, count: 10)
        storage.withUnsafeMutableBytes { bytes in
            let view = UDPDatagram(unchecked: bytes)
            UDPRepr(sourcePort: 1, destinationPort: 2, payloadLength: 2)
                .emit(into: view, source: Self.source, destination: Self.destination, checksum: .pseudoHeaderOnly)
            #expect(view.checksum == 0x141E)  // 0a00+0001+0a00+0002+0011+000a
        }
    }

    @Test func wrongChecksumIsRejectedUnlessVerificationIsOff() throws {
        var datagram = Self.datagram
        datagram[8] ^= 1
        try withBuffer(datagram) { bytes in
            let view = try UDPDatagram(checking: bytes)
            #expect(wireError { _ = try UDPRepr.parse(view, source: Self.source, destination: Self.destination) } == .badChecksum)
            // The wrong pseudo-header (another destination) is also a bad checksum.
            let unverified = try UDPRepr.parse(view, source: Self.source, destination: Self.destination, verifyChecksum: false)
            #expect(unverified.payloadLength == 2)
        }
        try withBuffer(Self.datagram) { bytes in
            let view = try UDPDatagram(checking: bytes)
            #expect(wireError { _ = try UDPRepr.parse(view, source: Self.source, destination: IPv4Address(10, 0, 0, 3)) } == .badChecksum)
        }
    }

    @Test func rejectsMalformedLengths() {
        let short = Array(Self.datagram.prefix(7))
        var lengthBelowHeader = Self.datagram
        lengthBelowHeader[5] = 7
        var lengthBeyondBuffer = Self.datagram
        lengthBeyondBuffer[5] = 11
        for (datagram, expected) in [(short, WireError.truncated), (lengthBelowHeader, .badLength), (lengthBeyondBuffer, .truncated)] {
            withBuffer(datagram) { bytes in
                #expect(wireError { _ = try UDPDatagram(checking: bytes) } == expected)
            }
        }
    }
}
