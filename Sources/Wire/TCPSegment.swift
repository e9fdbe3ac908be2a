/// A view of a TCP segment (RFC 9293) over raw bytes: header, options, and
/// the payload up to the end of `bytes` (the view must end where the IPv4
/// payload ends, since TCP has no length field of its own).
public struct TCPSegment {
    public let bytes: UnsafeMutableRawBufferPointer

    /// A header without options.
    public static let minimumHeaderLength = 20
    /// Data offset 15: 60 bytes, 40 of them options.
    public static let maximumHeaderLength = 60
    /// Where the checksum sits (a NIC filling it in is told this offset).
    public static let checksumOffset = 16

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks the fixed header is there, data offset >= 5, and the options fit.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.minimumHeaderLength else { throw .truncated }
        self.bytes = bytes
        guard headerLength >= Self.minimumHeaderLength else { throw .badHeaderLength }
        guard headerLength <= bytes.count else { throw .truncated }
    }

    @inlinable public var sourcePort: UInt16 {
        get { bytes.u16(at: 0) }
        nonmutating set { bytes.setU16(newValue, at: 0) }
    }

    @inlinable public var destinationPort: UInt16 {
        get { bytes.u16(at: 2) }
        nonmutating set { bytes.setU16(newValue, at: 2) }
    }

    @inlinable public var sequenceNumber: UInt32 {
        get { bytes.u32(at: 4) }
        nonmutating set { bytes.setU32(newValue, at: 4) }
    }

    @inlinable public var acknowledgmentNumber: UInt32 {
        get { bytes.u32(at: 8) }
        nonmutating set { bytes.setU32(newValue, at: 8) }
    }

    /// Data offset in bytes (20...60).
    @inlinable public var headerLength: Int {
        get { Int(bytes.u8(at: 12) >> 4) * 4 }
        nonmutating set { bytes.setU8(UInt8(truncatingIfNeeded: newValue / 4) << 4, at: 12) }
    }

    /// The eight flag bits of byte 13 (the NS bit of byte 12 is not used).
    @inlinable public var flags: TCPFlags {
        get { TCPFlags(rawValue: bytes.u8(at: 13)) }
        nonmutating set { bytes.setU8(newValue.rawValue, at: 13) }
    }

    @inlinable public var window: UInt16 {
        get { bytes.u16(at: 14) }
        nonmutating set { bytes.setU16(newValue, at: 14) }
    }

    @inlinable public var checksum: UInt16 {
        get { bytes.u16(at: Self.checksumOffset) }
        nonmutating set { bytes.setU16(newValue, at: Self.checksumOffset) }
    }

    @inlinable public var urgentPointer: UInt16 {
        get { bytes.u16(at: 18) }
        nonmutating set { bytes.setU16(newValue, at: 18) }
    }

    /// The option bytes (empty for data offset 5).
    @inlinable public var options: UnsafeMutableRawBufferPointer {
        bytes.slice(Self.minimumHeaderLength..<headerLength)
    }

    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength..<bytes.count) }

    /// True when the checksum over pseudo-header, header and payload is right.
    @inlinable
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: .tcp, length: bytes.count)
        return InternetChecksum.isValid(bytes.readOnly, initial: pseudo)
    }

    /// Computes and stores the checksum over the whole segment as it is now.
    @inlinable
    public func fillChecksum(source: IPv4Address, destination: IPv4Address) {
        checksum = 0
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: .tcp, length: bytes.count)
        checksum = InternetChecksum.checksum(bytes.readOnly, initial: pseudo)
    }
}

extension TCPRepr {
    /// 20 + the options `emit` writes (a multiple of 4, at most 60).
    @inlinable public var headerLength: Int { TCPSegment.minimumHeaderLength + options.encodedLength }

    /// Sequence space a segment with `payloadLength` data bytes uses (SYN and FIN count one each).
    @inlinable
    public func sequenceLength(payloadLength: Int) -> Int {
        payloadLength + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
    }

    /// Reads a checked segment carried from `source` to `destination`.
    /// Rejects a wrong checksum (unless `verifyChecksum` is false because
    /// the NIC checked it) and malformed options (`.badOptionLength`). The
    /// payload is `segment.payload`.
    @inlinable
    public static func parse(
        _ segment: TCPSegment, source: IPv4Address, destination: IPv4Address, verifyChecksum: Bool = true
    ) throws(WireError) -> TCPRepr {
        if verifyChecksum && !segment.isChecksumValid(source: source, destination: destination) {
            throw .badChecksum
        }
        return TCPRepr(
            sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
            sequenceNumber: segment.sequenceNumber, acknowledgmentNumber: segment.acknowledgmentNumber,
            flags: segment.flags, window: segment.window, urgentPointer: segment.urgentPointer,
            options: try TCPOptions.parse(segment.options))
    }

    /// Writes header and options into `segment`, whose bytes are the whole
    /// segment: `headerLength` + the payload, which must already be in place
    /// after the header when the checksum is `.compute` (or emit with
    /// `.omit`, write `segment.payload`, then call `fillChecksum`).
    @inlinable
    public func emit(
        into segment: TCPSegment, source: IPv4Address, destination: IPv4Address,
        checksum: TransportChecksum = .compute
    ) {
        let headerLength = self.headerLength
        precondition(segment.bytes.count >= headerLength, "TCP emit: buffer smaller than the header")
        segment.sourcePort = sourcePort
        segment.destinationPort = destinationPort
        segment.sequenceNumber = sequenceNumber
        segment.acknowledgmentNumber = acknowledgmentNumber
        segment.headerLength = headerLength
        segment.flags = flags
        segment.window = window
        segment.urgentPointer = urgentPointer
        options.emit(into: segment.options)
        switch checksum {
        case .compute:
            segment.fillChecksum(source: source, destination: destination)
        case .pseudoHeaderOnly:
            segment.checksum = InternetChecksum.seed(InternetChecksum.pseudoHeaderSum(
                source: source, destination: destination, protocol: .tcp, length: segment.bytes.count))
        case .omit:
            segment.checksum = 0
        }
    }
}
