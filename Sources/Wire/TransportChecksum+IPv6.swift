/// UDP and TCP over IPv6: the same headers, checksummed with the IPv6
/// pseudo-header (RFC 8200 §8.1). For UDP the checksum is mandatory over
/// IPv6: a zero one is invalid (§8.1; RFC 6935's tunnel exception is not taken).
extension UDPDatagram {
    @inlinable
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        guard checksum != 0 else { return false }
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .udp, length: length)
        return InternetChecksum.isValid(bytes.slice(0..<length).readOnly, initial: pseudo)
    }

    /// Computes and stores the checksum; a computed zero is sent as 0xFFFF.
    @inlinable
    public func fillChecksum(source: IPv6Address, destination: IPv6Address) {
        checksum = 0
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .udp, length: length)
        let value = InternetChecksum.checksum(bytes.slice(0..<length).readOnly, initial: pseudo)
        checksum = value == 0 ? 0xFFFF : value
    }
}

extension UDPRepr {
    /// Reads a checked datagram carried over IPv6; a zero or wrong checksum
    /// is `.badChecksum` unless `verifyChecksum` is false (the NIC checked it).
    @inlinable
    public static func parse(
        _ datagram: UDPDatagram, source: IPv6Address, destination: IPv6Address, verifyChecksum: Bool = true
    ) throws(WireError) -> UDPRepr {
        if verifyChecksum && !datagram.isChecksumValid(source: source, destination: destination) {
            throw .badChecksum
        }
        return UDPRepr(
            sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort,
            payloadLength: datagram.length - UDPDatagram.headerLength)
    }

    /// Writes the header for IPv6 (`.omit` leaves zero: only for a later `fillChecksum`).
    @inlinable
    public func emit(
        into datagram: UDPDatagram, source: IPv6Address, destination: IPv6Address,
        checksum: TransportChecksum = .compute
    ) {
        emit(into: datagram, source: .any, destination: .any, checksum: .omit)
        switch checksum {
        case .compute:
            datagram.fillChecksum(source: source, destination: destination)
        case .pseudoHeaderOnly:
            datagram.checksum = InternetChecksum.seed(InternetChecksum.pseudoHeaderSum(
                source: source, destination: destination, nextHeader: .udp, length: datagramLength))
        case .omit:
            break
        }
    }
}

extension TCPSegment {
    @inlinable
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .tcp, length: bytes.count)
        return InternetChecksum.isValid(bytes.readOnly, initial: pseudo)
    }

    @inlinable
    public func fillChecksum(source: IPv6Address, destination: IPv6Address) {
        checksum = 0
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .tcp, length: bytes.count)
        checksum = InternetChecksum.checksum(bytes.readOnly, initial: pseudo)
    }
}

extension TCPRepr {
    /// Reads a checked segment carried over IPv6 (see the IPv4 `parse`).
    @inlinable
    public static func parse(
        _ segment: TCPSegment, source: IPv6Address, destination: IPv6Address, verifyChecksum: Bool = true
    ) throws(WireError) -> TCPRepr {
        if verifyChecksum && !segment.isChecksumValid(source: source, destination: destination) {
            throw .badChecksum
        }
        return try parse(segment, source: IPv4Address.any, destination: .any, verifyChecksum: false)
    }

    /// Writes header and options for IPv6 (see the IPv4 `emit`).
    @inlinable
    public func emit(
        into segment: TCPSegment, source: IPv6Address, destination: IPv6Address,
        checksum: TransportChecksum = .compute
    ) {
        emit(into: segment, source: IPv4Address.any, destination: .any, checksum: .omit)
        switch checksum {
        case .compute:
            segment.fillChecksum(source: source, destination: destination)
        case .pseudoHeaderOnly:
            segment.checksum = InternetChecksum.seed(InternetChecksum.pseudoHeaderSum(
                source: source, destination: destination, nextHeader: .tcp, length: segment.bytes.count))
        case .omit:
            break
        }
    }
}
