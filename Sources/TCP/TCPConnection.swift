import Wire

/// One TCP connection as a pure state machine (RFC 9293): segments in,
/// timer ticks and calls from the socket layer change it; it answers with
/// segments to send (`nextSegment(now:)`), events for the socket
/// (`takeEvents()`) and the time it next needs a tick (`nextDeadline`).
/// It never reads a clock, touches a device or allocates after `init`.
///
/// The stack's loop, for each connection it touched:
///
///     connection.handle(segment:payload:source:destination:now:)   // for each segment in
///     connection.poll(now:)                                        // when nextDeadline passed
///     while let out = connection.nextSegment(now:) { emit out.repr; copyPayload(of: out, to: ...) }
///
/// Sequence layout of the send side: SND.UNA ... SND.NXT ... SND.MAX, with the
/// send ring holding the data bytes from `dataStart` (SND.UNA, or one more
/// while our SYN is unacknowledged) onward, acknowledged bytes removed at once.
public final class TCPConnection {
    /// The stack-wide settings and ISN secrets, one copy per table shared
    /// by its connections (inline, the 256-byte configuration was a fifth
    /// of every connection: Docs/BENCHMARKS.md "Connection scale").
    let shared: TCPConnectionShared
    public var configuration: TCPConfiguration { shared.configuration }
    /// Socket options; `noDelay` and the keepalive settings may change at any time.
    public var options: TCPConnectionOptions
    public internal(set) var tuple: TCPFourTuple
    public internal(set) var state: TCPState = .closed
    /// Why the connection failed, once it has (nil while healthy or after an orderly close).
    public internal(set) var error: TCPConnectionError?
    public internal(set) var statistics = TCPConnectionStatistics()
    var pendingEvents: TCPEvents = []
    var sequenceNumbers: TCPInitialSequenceNumbers { shared.sequenceNumbers }

    // MARK: Send side
    var sendBuffer: TCPByteRing
    var initialSendSequence = TCPSequenceNumber(0)
    var sendUnacknowledged = TCPSequenceNumber(0)
    /// SND.UNA before its latest advance (RFC 6582's prev_highest_ack).
    var previousUnacknowledged = TCPSequenceNumber(0)
    var sendNext = TCPSequenceNumber(0)
    /// The highest sequence number sent so far (SND.NXT before an RTO rewound it).
    var sendMax = TCPSequenceNumber(0)
    /// The peer's window in bytes (scaled).
    var sendWindow = 0
    var maximumSendWindow = 0
    var sendWindowUpdateSequence = TCPSequenceNumber(0)
    var sendWindowUpdateAcknowledgment = TCPSequenceNumber(0)
    /// The application shut down its sending direction: a FIN follows the data.
    var finQueued = false {
        didSet { if finQueued && !oldValue { finSequenceNumber = dataEnd } }
    }
    var finSequenceNumber = TCPSequenceNumber(0)
    /// The peer acknowledged our SYN (a flag, not a comparison: after 4 GiB
    /// SND.UNA may equal the ISS again).
    var ourSYNAcknowledged = false

    // MARK: Receive side
    var receiveBuffer: TCPByteRing
    /// The packet buffer lent with the segment being handled (table's
    /// `handle(...lending:)`), and whether the receive ring kept it.
    var lentPayload: TCPBorrowedBytes?
    var lentPayloadTaken = false
    var initialReceiveSequence = TCPSequenceNumber(0)
    var receiveNext = TCPSequenceNumber(0)
    /// RCV.NXT + the window we last announced; never moved left.
    var receiveAdvertisedEdge = TCPSequenceNumber(0)
    var reassembly: TCPReassemblyQueue
    /// The sequence number of the peer's FIN when it arrived ahead of data.
    var pendingPeerFIN: TCPSequenceNumber?
    var peerFINReceived = false
    /// Receive-ring auto-tuning (TCPConnection+BufferTuning.swift): bytes
    /// the application read since the measuring round trip began, and the
    /// delay of the latest echoed timestamp in milliseconds.
    var tuningIntervalStart = TCPInstant.zero
    var tuningBytesRead = 0
    var echoedTimestampDelay: UInt32 = 0
    /// In-order bytes received in the current receiver round trip, and in
    /// the last whole one (TCPConnection+StretchACK.swift).
    var roundBytesReceived = 0
    var bytesReceivedLastRound = 0

    // MARK: Options (RFC 7323, RFC 2018, RFC 9293 MSS)
    var peerMSS = 536
    /// Payload plus options that fit the path MTU (RFC 8201 §4; lowered
    /// by Packet Too Big, TCPConnection+PathMTU.swift).
    var pathSegmentBudget = Int.max
    var sendWindowScale: UInt8 = 0
    var receiveWindowScale: UInt8 = 0
    var windowScalingEnabled = false
    var sackEnabled = false
    var timestampsEnabled = false
    var timestampRecent: UInt32 = 0
    var timestampRecentTime = TCPInstant.zero
    var lastAcknowledgmentSent = TCPSequenceNumber(0)
    var timestampOffset: UInt32 = 0

    // MARK: Timers (each nil when not armed)
    var retransmitDeadline: TCPInstant?
    var delayedACKDeadline: TCPInstant?
    var keepAliveDeadline: TCPInstant?
    var timeWaitDeadline: TCPInstant?
    var persistDeadline: TCPInstant?
    /// Tail loss probe timer (RFC 8985 section 7).
    var probeDeadline: TCPInstant?
    var tailLossProbePending = false
    /// A probe was sent and no new data has been acknowledged since.
    var tailLossProbeOutstanding = false
    var persistBackoff = 0
    /// Window probes sent since the peer last acknowledged anything.
    var unansweredProbes = 0
    var finWait2Deadline: TCPInstant?
    var retransmissionCount = 0
    var keepAliveProbesSent = 0
    var lastSegmentReceivedTime = TCPInstant.zero
    var lastACKReceivedTime = TCPInstant.zero
    var lastDataSentTime = TCPInstant.zero

    // MARK: Output requests
    var ackNow = false
    /// Immediate ACKs still owed for out-of-order segments.
    var duplicateACKsOwed = 0
    var sendKeepAliveProbe = false
    var sendZeroWindowProbe = false
    var pendingReset: TCPOutgoingSegment?
    /// Bytes received since our last ACK (delayed-ACK accounting).
    var bytesSinceLastACK = 0

    // MARK: RTT and congestion control
    var roundTrip: TCPRoundTripEstimator
    /// A segment being timed when timestamps are off (Karn: cleared on retransmission).
    var rttSample: (sequence: TCPSequenceNumber, sentAt: TCPInstant)?
    var congestion: TCPCongestionController
    var duplicateACKs = 0
    var inRecovery = false
    var recoveryPoint = TCPSequenceNumber(0)
    /// HighRxt of RFC 6675: retransmissions in this recovery reached here.
    var highRetransmitted = TCPSequenceNumber(0)
    /// Retransmit the segment at SND.UNA next (fast retransmit, NewReno partial ACK).
    var retransmitFirstPending = false
    /// SND.MAX when the segment at SND.UNA was last retransmitted in fast
    /// recovery: everything above it was sent after that retransmission, so
    /// when the peer SACKs a segment's worth of it while SND.UNA stays, the
    /// retransmission was lost (the rule RACK applies, RFC 8985 6.2, counted
    /// in bytes instead of time); nil when no such retransmission is pending.
    var unaRetransmissionMark: TCPSequenceNumber?
    /// DupThresh: 3, raised by one (up to `maximumReorderingThreshold`) each
    /// time a recovery proves spurious, so a path that reorders stops
    /// triggering recoveries for segments that are only late. (Against Linux
    /// through 22% reordering, 100 MiB: cap 3 118 s, 16 56 s, 32 37 s, 64 44 s.)
    var reorderingThreshold = TCPSACKScoreboard.duplicateThreshold
    static let maximumReorderingThreshold = 32
    /// The last fast recovery, kept until the next one starts, so that
    /// D-SACKs arriving after it ended can still prove it spurious
    /// (RFC 3708) and undo its window reduction (as Linux does).
    var lastRecovery: (congestionBefore: TCPCongestionController, start: TCPSequenceNumber, end: TCPSequenceNumber,
                       retransmissions: Int, duplicates: Int)?
    /// NewReno's cwnd inflation during recovery without SACK (RFC 6582).
    var recoveryInflation = 0
    var scoreboard: TCPSACKScoreboard
    var challengeLimiter: TCPChallengeACKLimiter

    // MARK: Role
    /// Opened by a listener (a RST in SYN-RECEIVED then ends it quietly).
    var passiveOpen = false
    /// The application closed: no more reads, the FIN-WAIT-2 timer applies.
    public internal(set) var isOrphaned = false
    var synRetransmissions = 0

    /// A connection in CLOSED; `connect` or `listen` starts it.
    public convenience init(configuration: TCPConfiguration, options: TCPConnectionOptions = TCPConnectionOptions(),
                            local: TCPEndpoint, remote: TCPEndpoint = TCPEndpoint(address: IPv4Address.any, port: 0),
                            secrets: TCPInitialSequenceNumbers, chunkCache: TCPChunkCache? = nil) {
        self.init(shared: TCPConnectionShared(configuration: configuration, sequenceNumbers: secrets), options: options,
                  local: local, remote: remote, chunkCache: chunkCache)
    }

    /// As above with a table's shared settings.
    init(shared: TCPConnectionShared, options: TCPConnectionOptions, local: TCPEndpoint,
         remote: TCPEndpoint = TCPEndpoint(address: IPv4Address.any, port: 0), chunkCache: TCPChunkCache? = nil) {
        self.shared = shared
        let configuration = shared.configuration
        self.options = options
        self.tuple = TCPFourTuple(local: local, remote: remote)
        let cache = chunkCache ?? TCPChunkCache(chunkSize: configuration.ringChunkSize)
        sendBuffer = TCPByteRing(capacity: options.sendBufferSize, cache: cache)
        receiveBuffer = TCPByteRing(capacity: options.receiveBufferSize, cache: cache)
        reassembly = TCPReassemblyQueue(capacity: configuration.maximumOutOfOrderRanges)
        scoreboard = TCPSACKScoreboard(capacity: configuration.maximumSACKScoreboardRanges)
        roundTrip = TCPRoundTripEstimator(
            minimum: configuration.minimumRTO, maximum: configuration.maximumRTO, initial: configuration.initialRTO)
        congestion = TCPCongestionController(options.congestionControl, mss: configuration.localMSS(ipv4: local.isIPv4))
        challengeLimiter = TCPChallengeACKLimiter(limitPerSecond: configuration.challengeACKsPerSecond)
        receiveWindowScale = configuration.receiveWindowScale(for: options)
    }

    deinit {
        sendBuffer.deallocate()
        receiveBuffer.deallocate()
    }

    // MARK: Derived values

    /// Sequence number of the first byte in the send ring.
    var dataStart: TCPSequenceNumber {
        sendUnacknowledged + (synUnacknowledged ? 1 : 0)
    }

    /// One past the last byte in the send ring.
    var dataEnd: TCPSequenceNumber { dataStart + sendBuffer.count }

    /// Our SYN is outstanding (sent or to be sent, not yet acknowledged).
    var synUnacknowledged: Bool { !ourSYNAcknowledged }

    /// The sequence number of our FIN, once the application shut down writing
    /// (fixed then: no data can be queued after it).
    var finSequence: TCPSequenceNumber? { finQueued ? finSequenceNumber : nil }

    /// Our FIN has been sent and acknowledged.
    var finAcknowledged: Bool {
        guard let fin = finSequence else { return false }
        return fin < sendUnacknowledged
    }

    /// Largest payload plus options per segment (RFC 6691: the peer's MSS
    /// limits data plus options; our MTU limits everything).
    var segmentBudget: Int { max(min(peerMSS, localMSS, pathSegmentBudget), 64) }

    /// The MSS we announce: the MTU's, capped by TCP_MAXSEG.
    var localMSS: Int { min(configuration.localMSS(ipv4: tuple.isIPv4), max(options.maximumSegmentSize ?? Int.max, 88)) }

    /// SMSS: the payload of a full segment with the options every segment carries.
    public var sendMSS: Int { segmentBudget - (timestampsEnabled ? 12 : 0) }

    /// Bytes sent and not yet acknowledged.
    var flightSize: Int { max(sendMax - sendUnacknowledged, 0) }

    public var congestionWindow: Int { congestion.congestionWindow }
    public var slowStartThreshold: Int { congestion.slowStartThreshold }
    public var smoothedRTT: TCPDuration? { roundTrip.smoothedRTT }
    public var retransmissionTimeout: TCPDuration { roundTrip.timeout }

    /// Bytes the application can read now.
    public var bytesReadable: Int { receiveBuffer.count }
    /// Bytes the application can still queue for sending.
    public var sendSpace: Int { state.canSendData && !finQueued ? sendBuffer.freeSpace : 0 }
    /// Bytes queued and not yet acknowledged.
    public var bytesUnacknowledged: Int { sendBuffer.count }
    /// The peer's FIN has been received and every byte before it read.
    public var isAtEndOfStream: Bool { peerFINReceived && receiveBuffer.isEmpty }

    // MARK: Calls made by the socket layer

    /// Active open: sends a SYN from `tuple.local` to `remote`.
    public func connect(to remote: TCPEndpoint, now: TCPInstant) throws(TCPCallError) {
        guard state == .closed, error == nil else { throw .invalidState(state) }
        tuple.remote = remote
        initialSendSequence = sequenceNumbers.initialSequenceNumber(for: tuple, now: now)
        timestampOffset = sequenceNumbers.timestampOffset(for: tuple)
        sendUnacknowledged = initialSendSequence
        sendNext = initialSendSequence
        sendMax = initialSendSequence
        recoveryPoint = initialSendSequence
        state = .synSent
        lastSegmentReceivedTime = now
    }

    /// Passive open: waits for one SYN on `tuple.local` (a stand-alone
    /// listener; `TCPEndpointTable` makes listeners that fork connections).
    public func listen() throws(TCPCallError) {
        guard state == .closed, error == nil else { throw .invalidState(state) }
        state = .listen
    }

    /// Queues bytes for sending; returns how many fit in the send ring.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(TCPCallError) -> Int {
        if let error { throw .failed(error) }
        switch state {
        case .synSent, .synReceived, .established, .closeWait:
            guard !finQueued else { throw .invalidState(state) }
            var count = sendBuffer.append(bytes)
            if count < bytes.count && growSendBufferIfNetworkTakesMore() {
                count += sendBuffer.append(UnsafeRawBufferPointer(rebasing: bytes[count...]))
            }
            statistics.sendBytesCopied += count
            return count
        default:
            throw .invalidState(state)
        }
    }

    /// Moves received bytes to `destination`. Returns 0 only at the end of
    /// the stream (the peer's FIN read); throws `.wouldBlock` when nothing
    /// is there yet.
    public func receive(into destination: UnsafeMutableRawBufferPointer) throws(TCPReceiveError) -> Int {
        if receiveBuffer.isEmpty {
            if peerFINReceived { return 0 }
            if let error { throw .failed(error) }
            if state == .closed || state == .listen || state == .synSent || isOrphaned { throw .notConnected }
            throw .wouldBlock
        }
        let before = advertisableWindow
        let count = receiveBuffer.read(into: destination)
        tuningBytesRead += count
        noteWindowOpened(from: before)
        return count
    }

    /// Copies readable bytes into `destination` without removing them
    /// (MSG_PEEK); returns how many.
    public func peekReceived(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(receiveBuffer.count, destination.count)
        if count > 0 { receiveBuffer.copy(offset: 0, length: count, to: destination.baseAddress!) }
        return count
    }

    /// Calls `body` with the readable bytes (up to two regions when the ring
    /// wraps) and removes the bytes it says it consumed: zero-copy reading.
    public func consumeReceived(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Int) -> Int {
        let (a, b) = receiveBuffer.regions(offset: 0, length: receiveBuffer.count)
        let consumed = min(max(body(a, b), 0), receiveBuffer.count)
        let before = advertisableWindow
        receiveBuffer.removeFirst(consumed)
        tuningBytesRead += consumed
        noteWindowOpened(from: before)
        return consumed
    }

    /// shutdown(SHUT_WR): a FIN follows the queued data.
    public func shutdownWrite() throws(TCPCallError) {
        switch state {
        case .synSent:
            state = .closed
            pendingEvents.insert(.closed)
        case .listen:
            state = .closed
            pendingEvents.insert(.closed)
        case .synReceived, .established:
            if !finQueued { finQueued = true }
            if state == .established { state = .finWait1 }
        case .closeWait:
            finQueued = true
            state = .lastAck
        case .finWait1, .finWait2, .closing, .lastAck, .timeWait, .closed:
            return
        }
    }

    /// close(): no more reads or writes by the application. Unread received
    /// data makes it an abort (RST, RFC 9293 3.10.4 / RFC 2525 2.17);
    /// otherwise the FIN goes out after the queued data.
    public func close(now: TCPInstant) {
        isOrphaned = true
        if !receiveBuffer.isEmpty && state.isSynchronized && state != .timeWait {
            abort()
            return
        }
        try? shutdownWrite()
        if state == .finWait2 { finWait2Deadline = now + configuration.finWait2Timeout }
    }

    /// Ends the connection at once, telling the peer with a RST when it is synchronized.
    public func abort() {
        if state.isSynchronized && state != .timeWait || state == .synReceived {
            let repr = TCPRepr(
                sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                sequenceNumber: sendNext.rawValue, acknowledgmentNumber: receiveNext.rawValue,
                flags: [.rst, .ack], window: 0)
            pendingReset = TCPOutgoingSegment(repr: repr, source: tuple.local.address, destination: tuple.remote.address)
        }
        enterClosed(error: nil)
    }

    /// The events since the last call; clears them.
    public func takeEvents() -> TCPEvents {
        let events = pendingEvents
        pendingEvents = []
        return events
    }

    /// Events waiting to be taken.
    public var hasPendingEvents: Bool { !pendingEvents.isEmpty }

    /// Copies the payload of a segment returned by `nextSegment` (before
    /// calling anything else on the connection).
    public func copyPayload(of segment: TCPOutgoingSegment, to destination: UnsafeMutableRawPointer) {
        guard segment.payloadLength > 0 else { return }
        sendBuffer.copy(offset: segment.payloadOffset, length: segment.payloadLength, to: destination)
    }

    /// Copies `count` bytes of a segment's payload from `offset` into it
    /// (a large segment goes into a chain of buffers, piece by piece).
    public func copyPayload(of segment: TCPOutgoingSegment, from offset: Int, count: Int, to destination: UnsafeMutableRawPointer) {
        guard count > 0, offset >= 0, offset + count <= segment.payloadLength else { return }
        sendBuffer.copy(offset: segment.payloadOffset + offset, length: count, to: destination)
    }

    /// The payload of a segment as up to two regions of the send ring (all
    /// of it when it spans at most two chunks; see `TCPByteRing.regions`).
    public func payloadRegions(of segment: TCPOutgoingSegment) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        sendBuffer.regions(offset: segment.payloadOffset, length: segment.payloadLength)
    }

    // MARK: Shared transitions

    func enterClosed(error: TCPConnectionError?) {
        if self.error == nil { self.error = error }
        state = .closed
        retransmitDeadline = nil
        delayedACKDeadline = nil
        keepAliveDeadline = nil
        timeWaitDeadline = nil
        finWait2Deadline = nil
        persistDeadline = nil
        probeDeadline = nil
        ackNow = false
        duplicateACKsOwed = 0
        sendKeepAliveProbe = false
        sendZeroWindowProbe = false
        reassembly.removeAll()
        pendingEvents.insert(.closed)
        if error != nil { pendingEvents.formUnion([.readable, .writable]) }
    }

    func enterTimeWait(now: TCPInstant) {
        state = .timeWait
        retransmitDeadline = nil
        keepAliveDeadline = nil
        finWait2Deadline = nil
        persistDeadline = nil
        probeDeadline = nil
        timeWaitDeadline = now + configuration.maximumSegmentLifetime * 2
        pendingEvents.insert(.closed)
    }

    /// The window we could announce now, before the right-edge rules.
    var advertisableWindow: Int {
        let free = receiveRoom
        let scale = windowScalingEnabled ? Int(receiveWindowScale) : 0
        return (min(free, 65535 << scale) >> scale) << scale
    }

    /// After the application read: announce a larger window when it grew by
    /// enough to be worth a segment (receiver SWS avoidance, RFC 9293 3.8.6.2.2).
    func noteWindowOpened(from before: Int) {
        guard state.canReceiveData else { return }
        let announced = max(receiveAdvertisedEdge - receiveNext, 0)
        let now = advertisableWindow
        // Stretched as ACKs are in a bulk flow (TCPConnection+StretchACK.swift).
        let threshold = min(receiveBuffer.capacity / 2, acknowledgmentThreshold)
        if now - announced >= threshold && now > before { ackNow = true }
    }
}

/// Why `receive` returned no bytes.
public enum TCPReceiveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Nothing received yet (EAGAIN / EWOULDBLOCK).
    case wouldBlock
    /// Not connected: connect or accept first (ENOTCONN).
    case notConnected
    case failed(TCPConnectionError)

    public var description: String {
        switch self {
        case .wouldBlock: "no data yet: wait for the readable event"
        case .notConnected: "not connected: connect or accept first"
        case .failed(let e): e.description
        }
    }
}

/// What every connection of a table reads and none changes: the table's
/// configuration and ISN secrets (a class, so connections share one copy).
final class TCPConnectionShared {
    let configuration: TCPConfiguration
    let sequenceNumbers: TCPInitialSequenceNumbers

    init(configuration: TCPConfiguration, sequenceNumbers: TCPInitialSequenceNumbers) {
        self.configuration = configuration
        self.sequenceNumbers = sequenceNumbers
    }
}
