import Wire

/// A segment the stack must send: the header as a value, the addresses, and
/// where its payload lies in the connection's send buffer. The stack emits
/// the header into a packet buffer and copies `payloadLength` bytes with
/// `TCPConnection.copyPayload(of:to:)` (or the table's equivalent), so no
/// segment owns memory of its own. The payload reference is valid until the
/// connection is next called.
public struct TCPOutgoingSegment: Sendable, Hashable {
    public var repr: TCPRepr
    public var source: IPv6Address
    public var destination: IPv6Address
    /// Offset of the payload from the head of the send buffer.
    public var payloadOffset: Int
    public var payloadLength: Int
    /// Payload bytes per segment on the wire: the MSS less this segment's
    /// options. A segment whose payload is longer (built only when
    /// `TCPConfiguration.segmentationOffloadLimit` allows it) is for the
    /// device to cut (TSO); its header, options included, goes in front of
    /// every piece. 0 for control segments.
    public var segmentSize: Int = 0
    /// The table slot of the connection whose send buffer holds the payload
    /// (-1 for control segments such as RSTs and SYN-cookie SYN-ACKs).
    public internal(set) var connectionSlot: Int32 = -1

    public init(repr: TCPRepr, source: IPv6Address, destination: IPv6Address, payloadOffset: Int = 0, payloadLength: Int = 0) {
        self.repr = repr
        self.source = source
        self.destination = destination
        self.payloadOffset = payloadOffset
        self.payloadLength = payloadLength
    }

    /// True when the device must cut this segment into several (TSO).
    public var needsSegmentation: Bool { segmentSize > 0 && payloadLength > segmentSize }

    /// Segments on the wire once the device has cut it.
    public var wireSegments: Int { needsSegmentation ? (payloadLength + segmentSize - 1) / segmentSize : 1 }

    /// Sequence space the segment occupies (payload plus SYN and FIN).
    public var sequenceLength: Int {
        payloadLength + (repr.flags.contains(.syn) ? 1 : 0) + (repr.flags.contains(.fin) ? 1 : 0)
    }
}
