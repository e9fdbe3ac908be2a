import Wire
@testable import TCP

/// A segment in flight between two in-process endpoints, payload copied out.
struct WireSegment {
    var repr: TCPRepr
    var payload: [UInt8]
    var source: IPv4Address
    var destination: IPv4Address
}

/// What the link does to the n-th segment in one direction, by pattern: the
/// patterns are deterministic so a failing run replays exactly.
struct ImpairmentPattern {
    /// Drop segment n when n % dropEvery == dropPhase (0 = never).
    var dropEvery = 0
    var dropPhase = 0
    /// Send segment n twice when n % duplicateEvery == 0.
    var duplicateEvery = 0
    /// Hold segment n back by `reorderDelay` when n % reorderEvery == 0.
    var reorderEvery = 0
    var reorderDelay = TCPDuration.milliseconds(3)
    /// The link's one-way delay.
    var delay = TCPDuration.milliseconds(1)
    /// Drop every segment numbered in this set too (for scripted losses).
    var dropIndices: Set<Int> = []
    /// The link's rate (0: unlimited): a segment leaves after the ones
    /// before it, taking its bytes' time on the wire, so a burst arrives
    /// spread out and the receiver's ACKs clock the sender as on a network.
    var bitsPerSecond: UInt64 = 0

    static let clean = ImpairmentPattern()
}

/// A one-way impaired link: segments go in with a send time, come out at
/// their delivery time (possibly never, twice, or after later ones).
struct ImpairedLink {
    var pattern: ImpairmentPattern
    private(set) var sent = 0
    private(set) var dropped = 0
    private(set) var duplicated = 0
    private(set) var reordered = 0
    private var inFlight: [(at: TCPInstant, order: Int, segment: WireSegment)] = []
    private var order = 0
    /// When the wire is free again (rate-limited links).
    private var wireFree = TCPInstant.zero

    init(_ pattern: ImpairmentPattern) { self.pattern = pattern }

    mutating func send(_ segment: WireSegment, now: TCPInstant) {
        let n = sent
        sent += 1
        if pattern.dropIndices.contains(n) || (pattern.dropEvery > 0 && n % pattern.dropEvery == pattern.dropPhase) {
            dropped += 1
            return
        }
        var at = now + pattern.delay
        if pattern.bitsPerSecond > 0 {
            // Header bytes counted as IPv4 + TCP with timestamps.
            let bits = UInt64(segment.payload.count + 52) * 8
            let departure = now < wireFree ? wireFree : now
            wireFree = departure + .microseconds(bits * 1_000_000 / pattern.bitsPerSecond)
            at = wireFree + pattern.delay
        }
        if pattern.reorderEvery > 0 && n % pattern.reorderEvery == pattern.reorderEvery - 1 {
            at = at + pattern.reorderDelay
            reordered += 1
        }
        enqueue(segment, at: at)
        if pattern.duplicateEvery > 0 && n % pattern.duplicateEvery == 0 {
            duplicated += 1
            enqueue(segment, at: at + .microseconds(100))
        }
    }

    private mutating func enqueue(_ segment: WireSegment, at: TCPInstant) {
        order += 1
        inFlight.append((at, order, segment))
    }

    var nextDelivery: TCPInstant? { inFlight.map(\.at).min() }

    /// Segments due by `now`, in delivery order.
    mutating func deliver(now: TCPInstant) -> [WireSegment] {
        let due = inFlight.filter { $0.at <= now }.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
        inFlight.removeAll { $0.at <= now }
        return due.map(\.segment)
    }
}

extension TCPDuration {
    static func microseconds(_ value: UInt64) -> TCPDuration { TCPDuration(microseconds: value) }
}

extension TCPConnection {
    /// Drains every segment the connection wants to send, payloads copied.
    func drain(now: TCPInstant) -> [WireSegment] {
        var largest = 0
        return drain(now: now, largestPayload: &largest)
    }

    /// The same, noting the largest payload handed out before any cutting.
    func drain(now: TCPInstant, largestPayload: inout Int) -> [WireSegment] {
        var out: [WireSegment] = []
        while let segment = nextSegment(now: now) {
            largestPayload = max(largestPayload, segment.payloadLength)
            var bytes = [UInt8](repeating: 0, count: segment.payloadLength)
            bytes.withUnsafeMutableBytes { copyPayload(of: segment, to: $0.baseAddress!) }
            // A TSO segment reaches the wire as the device cuts it.
            out += WireSegment(repr: segment.repr, payload: bytes, source: segment.source.ipv4Mapped!, destination: segment.destination.ipv4Mapped!)
                .cutLikeDevice(segmentSize: segment.needsSegmentation ? segment.segmentSize : 0)
            if out.count > 10_000 { break }
        }
        return out
    }

    func handle(_ segment: WireSegment, now: TCPInstant) {
        segment.payload.withUnsafeBytes {
            handle(segment: segment.repr, payload: $0, source: segment.source, destination: segment.destination, now: now)
        }
    }
}

extension WireSegment {
    /// What a segmenting device (e1000 TSE, Linux GSO behind virtio) sends
    /// for this segment: pieces of `segmentSize` payload bytes, each with a
    /// copy of the header and its options, the sequence number advanced,
    /// PSH and FIN on the last piece only. Itself when `segmentSize` is 0
    /// or the payload fits.
    func cutLikeDevice(segmentSize: Int) -> [WireSegment] {
        guard segmentSize > 0, payload.count > segmentSize else { return [self] }
        var pieces: [WireSegment] = []
        var offset = 0
        while offset < payload.count {
            let end = min(offset + segmentSize, payload.count)
            var piece = self
            piece.repr.sequenceNumber = repr.sequenceNumber &+ UInt32(offset)
            if end < payload.count { piece.repr.flags.subtract([.psh, .fin]) }
            piece.payload = Array(payload[offset..<end])
            pieces.append(piece)
            offset = end
        }
        return pieces
    }
}
