/// Destination unreachable codes (RFC 792, RFC 1812).
public struct ICMPv4UnreachableCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let network = ICMPv4UnreachableCode(rawValue: 0)
    public static let host = ICMPv4UnreachableCode(rawValue: 1)
    public static let `protocol` = ICMPv4UnreachableCode(rawValue: 2)
    public static let port = ICMPv4UnreachableCode(rawValue: 3)
    /// "Fragmentation needed and DF set"; carries the next-hop MTU.
    public static let fragmentationNeeded = ICMPv4UnreachableCode(rawValue: 4)
    public static let sourceRouteFailed = ICMPv4UnreachableCode(rawValue: 5)
    public static let administrativelyProhibited = ICMPv4UnreachableCode(rawValue: 13)
}

/// Time exceeded codes (RFC 792).
public enum ICMPv4TimeExceededCode: UInt8, Hashable, Sendable {
    /// TTL reached zero in transit.
    case timeToLive = 0
    /// Fragments did not all arrive before the reassembly timeout.
    case fragmentReassembly = 1
}

/// The start of the datagram an ICMP error is about: its IPv4 header and
/// the first 8 bytes of its payload (enough for UDP/TCP ports), so the
/// stack can find the socket it concerns.
public struct ICMPv4Quote: Hashable, Sendable {
    /// The quoted header (its payload length is the original's, not what is quoted).
    public var header: IPv4Repr
    /// The first 8 payload bytes, big-endian (byte 0 is the top byte).
    public var leadingBytes: UInt64

    /// Bytes of original payload that are quoted.
    public static let leadingByteCount = 8

    @inlinable
    public init(header: IPv4Repr, leadingBytes: UInt64) {
        self.header = header
        self.leadingBytes = leadingBytes
    }

    /// UDP/TCP source port of the original datagram.
    @inlinable public var sourcePort: UInt16 { UInt16(truncatingIfNeeded: leadingBytes >> 48) }
    /// UDP/TCP destination port of the original datagram.
    @inlinable public var destinationPort: UInt16 { UInt16(truncatingIfNeeded: leadingBytes >> 32) }

    /// Quoted header (with its options) + 8 bytes.
    @inlinable public var length: Int { header.headerLength + Self.leadingByteCount }

    /// Reads the quote from an error's body. The quoted header's checksum is
    /// not checked (the ICMP checksum covers it) and its total length may
    /// exceed what is quoted.
    @inlinable
    public static func parse(_ body: UnsafeMutableRawBufferPointer) throws(WireError) -> ICMPv4Quote {
        guard body.count >= IPv4Packet.minimumHeaderLength else { throw .truncated }
        let quoted = IPv4Packet(unchecked: body)
        guard quoted.version == 4 else { throw .badVersion }
        let headerLength = quoted.headerLength
        guard headerLength >= IPv4Packet.minimumHeaderLength else { throw .badHeaderLength }
        guard body.count >= headerLength + leadingByteCount else { throw .truncated }
        guard quoted.totalLength >= headerLength else { throw .badLength }
        let header = IPv4Repr(
            source: quoted.source, destination: quoted.destination, protocol: quoted.protocol,
            payloadLength: quoted.totalLength - headerLength, timeToLive: quoted.timeToLive,
            identification: quoted.identification, dontFragment: quoted.dontFragment,
            moreFragments: quoted.moreFragments, fragmentOffset: quoted.fragmentOffset, dscp: quoted.dscp,
            ecn: quoted.ecn, optionsLength: headerLength - IPv4Packet.minimumHeaderLength)
        let leading = UInt64(body.u32(at: headerLength)) << 32 | UInt64(body.u32(at: headerLength + 4))
        return ICMPv4Quote(header: header, leadingBytes: leading)
    }

    /// Writes header (options zeroed) and the 8 bytes into `body`.
    @inlinable
    public func emit(into body: UnsafeMutableRawBufferPointer) {
        precondition(body.count >= length, "ICMP quote emit: buffer smaller than the quote")
        header.emit(into: IPv4Packet(unchecked: body))
        body.setU32(UInt32(truncatingIfNeeded: leadingBytes >> 32), at: header.headerLength)
        body.setU32(UInt32(truncatingIfNeeded: leadingBytes), at: header.headerLength + 4)
    }
}

/// An ICMPv4 message as a plain value. Echo data stays in the message
/// (`ICMPv4Message.payload`); only its length is here.
public enum ICMPv4Repr: Hashable, Sendable {
    case echoRequest(identifier: UInt16, sequenceNumber: UInt16, payloadLength: Int)
    case echoReply(identifier: UInt16, sequenceNumber: UInt16, payloadLength: Int)
    /// `nextHopMTU` is meaningful for `.fragmentationNeeded`, zero otherwise.
    case destinationUnreachable(code: ICMPv4UnreachableCode, nextHopMTU: UInt16, original: ICMPv4Quote)
    case timeExceeded(code: ICMPv4TimeExceededCode, original: ICMPv4Quote)

    /// Reads a checked message. Rejects a wrong checksum (unless
    /// `verifyChecksum` is false), other types and time-exceeded codes
    /// (`.unsupported`), and error bodies too short for header + 8 bytes.
    @inlinable
    public static func parse(_ message: ICMPv4Message, verifyChecksum: Bool = true) throws(WireError) -> ICMPv4Repr {
        if verifyChecksum && !message.isChecksumValid { throw .badChecksum }
        switch message.type {
        case .echoRequest:
            return .echoRequest(
                identifier: message.identifier, sequenceNumber: message.sequenceNumber,
                payloadLength: message.payload.count)
        case .echoReply:
            return .echoReply(
                identifier: message.identifier, sequenceNumber: message.sequenceNumber,
                payloadLength: message.payload.count)
        case .destinationUnreachable:
            let code = ICMPv4UnreachableCode(rawValue: message.code)
            let mtu = code == .fragmentationNeeded ? message.nextHopMTU : 0
            return .destinationUnreachable(code: code, nextHopMTU: mtu, original: try ICMPv4Quote.parse(message.payload))
        case .timeExceeded:
            guard let code = ICMPv4TimeExceededCode(rawValue: message.code) else { throw .unsupported }
            return .timeExceeded(code: code, original: try ICMPv4Quote.parse(message.payload))
        default:
            throw .unsupported
        }
    }

    /// The whole message: 8 + echo data, or 8 + quote.
    @inlinable public var bufferLength: Int {
        switch self {
        case .echoRequest(_, _, let length), .echoReply(_, _, let length):
            ICMPv4Message.headerLength + length
        case .destinationUnreachable(_, _, let original), .timeExceeded(_, let original):
            ICMPv4Message.headerLength + original.length
        }
    }

    /// Writes header (and the quote of an error), then the checksum over the
    /// whole message as it is: for echo, put the data into `message.payload`
    /// first, or emit with `computeChecksum: false`, write the data, and call
    /// `message.fillChecksum()`.
    @inlinable
    public func emit(into message: ICMPv4Message, computeChecksum: Bool = true) {
        precondition(message.bytes.count >= bufferLength, "ICMP emit: buffer smaller than the message")
        message.code = 0
        message.restOfHeader = 0
        switch self {
        case .echoRequest(let identifier, let sequenceNumber, _), .echoReply(let identifier, let sequenceNumber, _):
            if case .echoRequest = self { message.type = .echoRequest } else { message.type = .echoReply }
            message.identifier = identifier
            message.sequenceNumber = sequenceNumber
        case .destinationUnreachable(let code, let nextHopMTU, let original):
            message.type = .destinationUnreachable
            message.code = code.rawValue
            if code == .fragmentationNeeded { message.nextHopMTU = nextHopMTU }
            original.emit(into: message.payload)
        case .timeExceeded(let code, let original):
            message.type = .timeExceeded
            message.code = code.rawValue
            original.emit(into: message.payload)
        }
        message.checksum = 0
        if computeChecksum {
            message.checksum = InternetChecksum.checksum(message.bytes.slice(0..<bufferLength).readOnly)
        }
    }
}
