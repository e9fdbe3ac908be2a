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
    /// D-SACKs received (the peer got some data twice).
    public var duplicateSACKsReceived = 0
    /// Fast recoveries proved spurious by D-SACKs, their window reduction undone.
    public var spuriousRecoveriesUndone = 0
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
    /// Packet Too Big messages that made segments smaller (RFC 8201 §4);
    /// each sent what was in flight again at the new size.
    public var pathMTURetransmissions = 0
    /// Payload bytes copied into the receive ring (in-order data not kept
    /// in its packet buffer, and out-of-order data): each is copied once
    /// more when read (Docs/NIO.md "Copies").
    public var receiveBytesCopied = 0
    /// Bytes copied into the send ring (`send(_:)`); lent bytes
    /// (`send(borrowing:)`) are not: they are copied only into packets.
    public var sendBytesCopied = 0
    /// Times the receive / send ring doubled by auto-tuning
    /// (TCPConnection+BufferTuning.swift).
    public var receiveBufferGrowths = 0
    public var sendBufferGrowths = 0

    public init() {}

    /// Every counter by name (statistics JSON, reports).
    public var named: [(String, Int)] {
        [("segmentsReceived", segmentsReceived), ("segmentsSent", segmentsSent), ("bytesReceived", bytesReceived),
         ("bytesSent", bytesSent), ("retransmittedSegments", retransmittedSegments), ("retransmissionTimeouts", retransmissionTimeouts),
         ("fastRetransmits", fastRetransmits), ("tailLossProbes", tailLossProbes), ("lostRetransmissions", lostRetransmissions),
         ("duplicateSACKsReceived", duplicateSACKsReceived), ("spuriousRecoveriesUndone", spuriousRecoveriesUndone),
         ("duplicateACKsReceived", duplicateACKsReceived), ("unacceptableSegments", unacceptableSegments), ("pawsDrops", pawsDrops),
         ("outOfOrderDrops", outOfOrderDrops), ("receiveBufferDrops", receiveBufferDrops), ("challengeACKsSent", challengeACKsSent),
         ("challengeACKsSuppressed", challengeACKsSuppressed), ("resetsSent", resetsSent), ("zeroWindowProbes", zeroWindowProbes),
         ("keepAliveProbes", keepAliveProbes), ("pathMTURetransmissions", pathMTURetransmissions),
         ("receiveBytesCopied", receiveBytesCopied), ("sendBytesCopied", sendBytesCopied),
         ("receiveBufferGrowths", receiveBufferGrowths), ("sendBufferGrowths", sendBufferGrowths)]
    }

    /// Adds another connection's counters (the table's totals).
    public mutating func add(_ other: TCPConnectionStatistics) {
        segmentsReceived += other.segmentsReceived
        segmentsSent += other.segmentsSent
        bytesReceived += other.bytesReceived
        bytesSent += other.bytesSent
        retransmittedSegments += other.retransmittedSegments
        retransmissionTimeouts += other.retransmissionTimeouts
        fastRetransmits += other.fastRetransmits
        tailLossProbes += other.tailLossProbes
        lostRetransmissions += other.lostRetransmissions
        duplicateSACKsReceived += other.duplicateSACKsReceived
        spuriousRecoveriesUndone += other.spuriousRecoveriesUndone
        duplicateACKsReceived += other.duplicateACKsReceived
        unacceptableSegments += other.unacceptableSegments
        pawsDrops += other.pawsDrops
        pathMTURetransmissions += other.pathMTURetransmissions
        outOfOrderDrops += other.outOfOrderDrops
        receiveBufferDrops += other.receiveBufferDrops
        challengeACKsSent += other.challengeACKsSent
        challengeACKsSuppressed += other.challengeACKsSuppressed
        resetsSent += other.resetsSent
        zeroWindowProbes += other.zeroWindowProbes
        keepAliveProbes += other.keepAliveProbes
        receiveBytesCopied += other.receiveBytesCopied
        sendBytesCopied += other.sendBytesCopied
        receiveBufferGrowths += other.receiveBufferGrowths
        sendBufferGrowths += other.sendBufferGrowths
    }
}
