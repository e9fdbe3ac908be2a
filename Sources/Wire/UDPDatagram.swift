/// A view of a UDP datagram (RFC 768) over raw bytes. The checked
/// constructor guarantees the 8-byte header and `length` bytes are inside
/// `bytes`; `payload` ends at `length`.
public struct UDPDatagram {
    public let bytes: UnsafeMutableRawBufferPointer

    public static let headerLength = 8
    /// Where the checksum sits (a NIC filling it in is told this offset).
    public static let checksumOffset = 6

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks the header is there, `length` >= 8 and `length` fits the bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
        guard length >= Self.headerLength else { throw .badLength }
        guard length <= bytes.count else { throw .truncated }
    }

    @inlinable public var sourcePort: UInt16 {
        get { bytes.u16(at: 0) }
        nonmutating set { bytes.setU16(newValue, at: 0) }
    }

    @inlinable public var destinationPort: UInt16 {
        get { bytes.u16(at: 2) }
        nonmutating set { bytes.setU16(newValue, at: 2) }
    }

    /// Header plus payload, in bytes.
    @inlinable public var length: Int {
        get { Int(bytes.u16(at: 4)) }
        nonmutating set { bytes.setU16(UInt16(truncatingIfNeeded: newValue), at: 4) }
    }

    /// Zero means the sender computed none.
    @inlinable public var checksum: UInt16 {
        get { bytes.u16(at: Self.checksumOffset) }
        nonmutating set { bytes.setU16(newValue, at: Self.checksumOffset) }
    }

    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(Self.headerLength..<length) }

    /// True when the checksum is right or absent (zero, RFC 768).
    @inlinable
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        if checksum == 0 { return true }
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: .udp, length: length)
        return InternetChecksum.isValid(bytes.slice(0..<length).readOnly, initial: pseudo)
    }

    /// Computes and stores the checksum over pseudo-header, header and
    /// payload; a computed zero is sent as 0xFFFF (zero means "none").
    @inlinable
    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        checksum = 0
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: .udp, length: length)
        let value = InternetChecksum.checksum(bytes.slice(0..<length).readOnly, initial: pseudo)
        checksum = value == 0 ? 0xFFFF : value
    }
}

/// A UDP header as a plain value; the payload stays in the datagram.
public struct UDPRepr: Hashable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payloadLength: Int

    @inlinable
    public init(sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payloadLength = payloadLength
    }

    /// 8 + payload: the length field and the bytes `emit` needs.
    @inlinable public var datagramLength: Int { UDPDatagram.headerLength + payloadLength }

    /// Reads a checked datagram carried from `source` to `destination`,
    /// rejecting a wrong non-zero checksum unless `verifyChecksum` is false.
    @inlinable
    public static func parse(
        _ datagram: UDPDatagram, source: IPv4Address, destination: IPv4Address, verifyChecksum: Bool = true
    ) throws(WireError) -> UDPRepr {
        if verifyChecksum && !datagram.isChecksumValid(source: source, destination: destination) {
            throw .badChecksum
        }
        return UDPRepr(
            sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort,
            payloadLength: datagram.length - UDPDatagram.headerLength)
    }

    /// Writes the header. With `.compute` the checksum covers the payload
    /// bytes as they are now, so put the payload there first (at offset 8),
    /// or emit with `.omit`, write `datagram.payload` (sized by the length
    /// field emit wrote), then call `fillChecksum`.
    @inlinable
    public func emit(
        into datagram: UDPDatagram, source: IPv4Address, destination: IPv4Address,
        checksum: TransportChecksum = .compute
    ) {
        precondition(
            datagramLength <= 65_535 && datagram.bytes.count >= datagramLength,
            "UDP emit: buffer smaller than the datagram, or datagram above 65,535 bytes")
        datagram.sourcePort = sourcePort
        datagram.destinationPort = destinationPort
        datagram.length = datagramLength
        switch checksum {
        case .compute:
            datagram.fillChecksum(source: source, destination: destination)
        case .pseudoHeaderOnly:
            datagram.checksum = InternetChecksum.seed(InternetChecksum.pseudoHeaderSum(
                source: source, destination: destination, protocol: .udp, length: datagramLength))
        case .omit:
            datagram.checksum = 0
        }
    }
}
