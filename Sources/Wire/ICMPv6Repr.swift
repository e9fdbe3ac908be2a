/// The packet an ICMPv6 error is about: its fixed header and, when the
/// quote reaches it, the upper-layer ports (after its extension headers),
/// so the stack can find the socket or the path it concerns.
public struct ICMPv6Quote: Hashable, Sendable {
    public var header: IPv6Repr
    /// Upper-layer protocol of the quoted packet (after its extension headers).
    public var upperLayer: IPProtocol
    /// Source and destination port (the first four upper-layer bytes), nil
    /// when the quote ends before them.
    public var ports: (source: UInt16, destination: UInt16)? {
        get { portWord.map { (UInt16(truncatingIfNeeded: $0 >> 16), UInt16(truncatingIfNeeded: $0)) } }
        set { portWord = newValue.map { UInt32($0.source) << 16 | UInt32($0.destination) } }
    }
    @usableFromInline var portWord: UInt32?

    /// Reads the quote from an error's body (as much of the packet as fit).
    @inlinable
    public static func parse(_ body: UnsafeMutableRawBufferPointer) throws(WireError) -> ICMPv6Quote {
        guard body.count >= IPv6Packet.headerLength else { throw .truncated }
        let quoted = IPv6Packet(unchecked: body)
        guard quoted.version == 6 else { throw .badVersion }
        let header = IPv6Repr(
            source: quoted.source, destination: quoted.destination, nextHeader: quoted.nextHeader,
            payloadLength: quoted.payloadLength, hopLimit: quoted.hopLimit,
            trafficClass: quoted.trafficClass, flowLabel: quoted.flowLabel)
        let rest = body.slice(IPv6Packet.headerLength..<body.count)
        // The quote may cut the chain short: then only the header is known.
        guard let chain = try? IPv6HeaderChain.parse(rest, first: quoted.nextHeader), chain.fragment.map({ $0.fragmentOffset == 0 }) ?? true
        else { return ICMPv6Quote(header: header, upperLayer: quoted.nextHeader, portWord: nil) }
        let port = rest.count - chain.upperLayerOffset >= 4 ? rest.u32(at: chain.upperLayerOffset) : nil
        return ICMPv6Quote(header: header, upperLayer: chain.upperLayer, portWord: port)
    }

    @inlinable init(header: IPv6Repr, upperLayer: IPProtocol, portWord: UInt32?) {
        self.header = header
        self.upperLayer = upperLayer
        self.portWord = portWord
    }

    public static func == (a: ICMPv6Quote, b: ICMPv6Quote) -> Bool {
        a.header == b.header && a.upperLayer == b.upperLayer && a.portWord == b.portWord
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(portWord)
    }
}

/// An ICMPv6 message as a plain value (RFC 4443, RFC 4861). Echo data and
/// an error's quoted packet stay in the message (`ICMPv6Message.body`);
/// only their length is here. Codes are kept as numbers (RFC 4443 §3.1,
/// §3.3, §3.4 list them).
public enum ICMPv6Repr: Hashable, Sendable {
    case echoRequest(identifier: UInt16, sequenceNumber: UInt16, payloadLength: Int)
    case echoReply(identifier: UInt16, sequenceNumber: UInt16, payloadLength: Int)
    case destinationUnreachable(code: UInt8, quoteLength: Int)
    case packetTooBig(mtu: UInt32, quoteLength: Int)
    case timeExceeded(code: UInt8, quoteLength: Int)
    /// `pointer` is the offset of the offending byte in the quoted packet.
    case parameterProblem(code: UInt8, pointer: UInt32, quoteLength: Int)
    case ndp(NDPRepr)

    /// Destination unreachable: port unreachable (RFC 4443 §3.1 code 4).
    public static let portUnreachableCode: UInt8 = 4
    /// Parameter problem codes (§3.4): erroneous header field, unrecognized next header, unrecognized option.
    public static let unrecognizedNextHeaderCode: UInt8 = 1

    /// An error carries as much of the invoking packet as fits without the
    /// whole packet exceeding the minimum MTU (RFC 4443 §2.4 (c)).
    public static let maximumQuoteLength = IPv6Packet.minimumMTU - IPv6Packet.headerLength - ICMPv6Message.headerLength

    /// Reads a checked message carried from `source` to `destination` with
    /// `hopLimit`. Rejects a wrong checksum (unless `verifyChecksum` is
    /// false), types not listed (`.unsupported`, RFC 4443 §2.4 (b): the
    /// caller drops unknown informational messages and passes unknown errors
    /// up), and NDP failing RFC 4861's checks.
    @inlinable
    public static func parse(
        _ message: ICMPv6Message, source: IPv6Address, destination: IPv6Address, hopLimit: UInt8,
        verifyChecksum: Bool = true
    ) throws(WireError) -> ICMPv6Repr {
        if verifyChecksum && !message.isChecksumValid(source: source, destination: destination) { throw .badChecksum }
        let quote = message.body.count
        switch message.type {
        case .echoRequest:
            return .echoRequest(identifier: message.identifier, sequenceNumber: message.sequenceNumber, payloadLength: quote)
        case .echoReply:
            return .echoReply(identifier: message.identifier, sequenceNumber: message.sequenceNumber, payloadLength: quote)
        case .destinationUnreachable:
            return .destinationUnreachable(code: message.code, quoteLength: quote)
        case .packetTooBig:
            return .packetTooBig(mtu: message.word, quoteLength: quote)
        case .timeExceeded:
            return .timeExceeded(code: message.code, quoteLength: quote)
        case .parameterProblem:
            return .parameterProblem(code: message.code, pointer: message.word, quoteLength: quote)
        default:
            return .ndp(try NDPRepr.parse(message, source: source, destination: destination, hopLimit: hopLimit))
        }
    }

    /// The whole message: 8 + echo data or quote, or the NDP message.
    @inlinable public var bufferLength: Int {
        switch self {
        case .echoRequest(_, _, let length), .echoReply(_, _, let length), .destinationUnreachable(_, let length),
            .packetTooBig(_, let length), .timeExceeded(_, let length), .parameterProblem(_, _, let length):
            ICMPv6Message.headerLength + length
        case .ndp(let ndp):
            ndp.bufferLength
        }
    }

    /// Writes the header (the whole message for NDP), then the checksum over
    /// the first `bufferLength` bytes as they are: put echo data or the
    /// quote into `message.body` first, or emit with `computeChecksum:
    /// false`, write them, and call `fillChecksum`.
    @inlinable
    public func emit(into message: ICMPv6Message, source: IPv6Address, destination: IPv6Address, computeChecksum: Bool = true) {
        precondition(message.bytes.count >= bufferLength, "ICMPv6 emit: buffer smaller than the message")
        message.code = 0
        switch self {
        case .echoRequest(let identifier, let sequenceNumber, _), .echoReply(let identifier, let sequenceNumber, _):
            if case .echoRequest = self { message.type = .echoRequest } else { message.type = .echoReply }
            message.identifier = identifier
            message.sequenceNumber = sequenceNumber
        case .destinationUnreachable(let code, _):
            message.type = .destinationUnreachable
            message.code = code
            message.word = 0
        case .packetTooBig(let mtu, _):
            message.type = .packetTooBig
            message.word = mtu
        case .timeExceeded(let code, _):
            message.type = .timeExceeded
            message.code = code
            message.word = 0
        case .parameterProblem(let code, let pointer, _):
            message.type = .parameterProblem
            message.code = code
            message.word = pointer
        case .ndp(let ndp):
            message.type = ndp.type
            ndp.emitBody(into: message)
        }
        message.checksum = 0
        if computeChecksum {
            ICMPv6Message(unchecked: message.bytes.slice(0..<bufferLength)).fillChecksum(source: source, destination: destination)
        }
    }
}
