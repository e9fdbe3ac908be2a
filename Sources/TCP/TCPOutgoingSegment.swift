import Wire

/// A segment the stack must send: the header as a value, the addresses, and
/// where its payload lies in the connection's send buffer. The stack emits
/// the header into a packet buffer and copies `payloadLength` bytes with
/// `TCPConnection.copyPayload(of:to:)` (or the table's equivalent), so no
/// segment owns memory of its own. The payload reference is valid until the
/// connection is next called.
public struct TCPOutgoingSegment: Sendable, Hashable {
    public var repr: TCPRepr
    public var source: IPv4Address
    public var destination: IPv4Address
    /// Offset of the payload from the head of the send buffer.
    public var payloadOffset: Int
    public var payloadLength: Int
    /// The table slot of the connection whose send buffer holds the payload
    /// (-1 for control segments such as RSTs and SYN-cookie SYN-ACKs).
    public internal(set) var connectionSlot: Int32 = -1

    public init(repr: TCPRepr, source: IPv4Address, destination: IPv4Address, payloadOffset: Int = 0, payloadLength: Int = 0) {
        self.repr = repr
        self.source = source
        self.destination = destination
        self.payloadOffset = payloadOffset
        self.payloadLength = payloadLength
    }

    /// Sequence space the segment occupies (payload plus SYN and FIN).
    public var sequenceLength: Int {
        payloadLength + (repr.flags.contains(.syn) ? 1 : 0) + (repr.flags.contains(.fin) ? 1 : 0)
    }
}
