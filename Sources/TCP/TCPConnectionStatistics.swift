/// Counters of one connection (summed by the table for the stack's statistics).
public struct TCPConnectionStatistics: Sendable, Hashable {
    public var segmentsReceived = 0
    public var segmentsSent = 0
    public var bytesReceived = 0
    public var bytesSent = 0
    public var retransmittedSegments = 0
    public var retransmissionTimeouts = 0
    public var fastRetransmits = 0
    public var tailLossProbes = 0
    /// Fast retransmissions found lost (later data SACKed) and sent again.
    public var lostRetransmissions = 0
    public var duplicateACKsReceived = 0
    /// Segments outside the receive window (answered with an ACK and dropped).
    public var unacceptableSegments = 0
    /// Segments dropped by PAWS (old timestamp).
    public var pawsDrops = 0
    /// Out-of-order segments dropped because the range limit was reached.
    public var outOfOrderDrops = 0
    /// Segments dropped because the receive buffer had no room.
    public var receiveBufferDrops = 0
    public var challengeACKsSent = 0
    public var challengeACKsSuppressed = 0
    public var resetsSent = 0
    public var zeroWindowProbes = 0
    public var keepAliveProbes = 0

    public init() {}
}
