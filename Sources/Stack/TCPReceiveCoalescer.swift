import Packets
import TCP
import Wire

/// Software receive coalescing (GRO) for ports whose device does not
/// coalesce (e1000, tap): within one receive burst, in-order segments of
/// one flow are linked behind the first as one packet chain (the payloads
/// chained, nothing copied), and TCP handles them in one call
/// (`TCPPayload` with several regions). Docs/TCP.md, "Receive coalescing".
///
/// What merges follows Linux's tcp_gro_receive: only ACK or ACK+PSH
/// segments with data, the same acknowledgment number and window, the next
/// sequence number (no hole, no overlap), no payload larger than the first
/// segment's, options equal but for the timestamp value. A PSH segment or
/// a shorter one ends the run. Timestamps: TSecr must be equal and TSval
/// must not go back; the merged segment carries the first segment's TSval,
/// which is the one RFC 7323 4.3 has TS.Recent take when the ACK covers
/// the whole run (the later segments start beyond Last.ACK.sent).
///
/// Fixed storage made once per stack; nothing per packet allocates.
final class TCPReceiveCoalescer {
    /// One flow's run of segments being coalesced.
    struct Run {
        /// The first segment (data at its TCP header); later segments,
        /// their headers removed, are linked behind it.
        var head: PacketBuffer
        var tail: UnsafeMutablePointer<PacketHeader>
        var repr: TCPRepr
        /// The flow's addresses at IPv6 width (IPv4 ones v4-mapped), as TCP keys them.
        var source: IPv6Address
        var destination: IPv6Address
        var headerLength: Int
        var nextSequence: UInt32
        /// The first segment's payload: no later one may be larger.
        var segmentSize: Int
        var lastTimestamp: UInt32
        var segments: Int
        var payloadLength: Int
    }

    /// Segments in one run at most (a packet chain's bound).
    static let maximumSegments = PacketBuffer.maximumSegments
    /// Payload bytes in one run at most (a 64 KiB IPv4 datagram's payload).
    static let maximumPayload = 65_535 - IPv4Packet.minimumHeaderLength - TCPSegment.minimumHeaderLength

    let capacity: Int
    private let runs: UnsafeMutablePointer<Run>
    private(set) var count = 0
    /// Where a run's payload regions are listed for TCP (one per segment).
    let regions: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>

    /// - Parameter flows: runs held at once (0: coalescing off).
    init(flows: Int) {
        capacity = max(flows, 0)
        runs = .allocate(capacity: max(capacity, 1))
        regions = .allocate(capacity: Self.maximumSegments)
    }

    deinit {
        precondition(count == 0, "coalesced runs not flushed")
        runs.deallocate()
        regions.deallocate()
    }

    // MARK: The rules (pure)

    /// True for a segment that may start or join a run: data with ACK and
    /// at most PSH besides, and no options but timestamps.
    @inline(__always)
    static func isCandidate(_ repr: TCPRepr, payloadLength: Int) -> Bool {
        guard payloadLength > 0 else { return false }
        let flags = repr.flags
        guard flags == .ack || flags == [.ack, .psh] else { return false }
        let options = repr.options
        return options.sackBlocks.isEmpty && options.maximumSegmentSize == nil && options.windowScale == nil
            && !options.sackPermitted
    }

    /// True when `repr` (a candidate) continues `run` of the same flow.
    @inline(__always)
    static func continues(_ run: Run, with repr: TCPRepr, payloadLength: Int) -> Bool {
        guard repr.sequenceNumber == run.nextSequence,
              repr.acknowledgmentNumber == run.repr.acknowledgmentNumber,
              repr.window == run.repr.window,
              run.repr.flags == .ack,
              payloadLength <= run.segmentSize,
              run.segments < maximumSegments,
              run.payloadLength + payloadLength <= maximumPayload else { return false }
        switch (run.repr.options.timestamp, repr.options.timestamp) {
        case (nil, nil):
            return true
        case let (first?, next?):
            // TSval may grow (the sender's clock ticked), never go back.
            return next.echoReply == first.echoReply && Int32(bitPattern: next.value &- run.lastTimestamp) >= 0
        default:
            return false
        }
    }

    /// True when a segment joining (or starting) a run ends it: PSH, or
    /// shorter than the run's segment size (the sender had no more).
    @inline(__always)
    static func ends(_ run: Run, with repr: TCPRepr, payloadLength: Int) -> Bool {
        repr.flags.contains(.psh) || payloadLength < run.segmentSize
    }

    // MARK: Runs

    /// The index of the run of this flow, or nil.
    @inline(__always)
    func find(_ repr: TCPRepr, source: IPv6Address, destination: IPv6Address) -> Int? {
        for index in 0..<count {
            let run = runs[index]
            if run.repr.sourcePort == repr.sourcePort && run.repr.destinationPort == repr.destinationPort
                && run.source == source && run.destination == destination {
                return index
            }
        }
        return nil
    }

    @inline(__always)
    func run(at index: Int) -> Run { runs[index] }

    /// Starts a run; false when every slot is taken.
    @inline(__always)
    func start(_ packet: PacketBuffer, repr: TCPRepr, source: IPv6Address, destination: IPv6Address,
               headerLength: Int, payloadLength: Int) -> Bool {
        guard count < capacity else { return false }
        let stamp = repr.options.timestamp?.value ?? 0
        runs[count] = Run(head: packet, tail: packet.header, repr: repr, source: source, destination: destination,
                          headerLength: headerLength,
                          nextSequence: repr.sequenceNumber &+ UInt32(truncatingIfNeeded: payloadLength),
                          segmentSize: payloadLength, lastTimestamp: stamp, segments: 1, payloadLength: payloadLength)
        count += 1
        return true
    }

    /// Links `packet` (the segment at `index`'s next sequence, its TCP
    /// header of `headerLength` bytes still in front) behind the run.
    @inline(__always)
    func append(_ packet: PacketBuffer, to index: Int, repr: TCPRepr, headerLength: Int, payloadLength: Int) {
        packet.removeFirst(headerLength)
        let head = runs[index].head.header
        runs[index].tail.pointee.next = packet.header
        runs[index].tail = packet.header
        head.pointee.segmentCount &+= 1
        head.pointee.packetLength &+= UInt32(truncatingIfNeeded: packet.length)
        runs[index].nextSequence &+= UInt32(truncatingIfNeeded: payloadLength)
        runs[index].segments += 1
        runs[index].payloadLength += payloadLength
        if let stamp = repr.options.timestamp { runs[index].lastTimestamp = stamp.value }
        if repr.flags.contains(.psh) { runs[index].repr.flags.insert(.psh) }
    }

    /// Frees every held run (the stack is going away).
    func releaseAll() {
        while count > 0 { remove(at: count - 1).head.free() }
    }

    /// Takes the run at `index` out (the last run moves into its slot).
    @inline(__always)
    func remove(at index: Int) -> Run {
        let run = runs[index]
        count -= 1
        if index != count { runs[index] = runs[count] }
        return run
    }
}
