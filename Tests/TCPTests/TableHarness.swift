import Wire
@testable import TCP

/// Two endpoint tables (two hosts) wired back to back, a virtual clock, and
/// optionally an impaired link each way.
final class TablePair {
    let a: TCPEndpointTable
    let b: TCPEndpointTable
    static let addressA = IPv4Address(10, 1, 0, 1)
    static let addressB = IPv4Address(10, 1, 0, 2)
    var toB: ImpairedLink
    var toA: ImpairedLink
    var now = TCPInstant.milliseconds(5000)
    var eventsA: [TCPTableEvent] = []
    var eventsB: [TCPTableEvent] = []

    init(configuration: TCPConfiguration = TCPConfiguration(), toB: ImpairmentPattern = .clean, toA: ImpairmentPattern = .clean) {
        a = TCPEndpointTable(configuration: configuration, key: SipHashKey(k0: 10, k1: 11))
        b = TCPEndpointTable(configuration: configuration, key: SipHashKey(k0: 20, k1: 21))
        self.toB = ImpairedLink(toB)
        self.toA = ImpairedLink(toA)
    }

    static func drain(_ table: TCPEndpointTable, now: TCPInstant) -> [WireSegment] {
        var out: [WireSegment] = []
        while let segment = table.nextSegment(now: now) {
            var bytes = [UInt8](repeating: 0, count: segment.payloadLength)
            bytes.withUnsafeMutableBytes { table.copyPayload(of: segment, to: $0.baseAddress!) }
            out.append(WireSegment(repr: segment.repr, payload: bytes, source: segment.source.ipv4Mapped!, destination: segment.destination.ipv4Mapped!))
        }
        return out
    }

    static func deliver(_ segment: WireSegment, to table: TCPEndpointTable, now: TCPInstant) {
        segment.payload.withUnsafeBytes {
            table.handle(segment: segment.repr, payload: $0, source: segment.source, destination: segment.destination, now: now)
        }
    }

    func step(maxStep: TCPDuration = .milliseconds(1)) {
        a.poll(now: now)
        b.poll(now: now)
        for segment in Self.drain(a, now: now) { toB.send(segment, now: now) }
        for segment in Self.drain(b, now: now) { toA.send(segment, now: now) }
        while let event = a.nextEvent() { eventsA.append(event) }
        while let event = b.nextEvent() { eventsB.append(event) }
        var next = now + maxStep
        for candidate in [toB.nextDelivery, toA.nextDelivery] {
            if let candidate, candidate > now, candidate < next { next = candidate }
        }
        now = next
        for segment in toB.deliver(now: now) { Self.deliver(segment, to: b, now: now) }
        for segment in toA.deliver(now: now) { Self.deliver(segment, to: a, now: now) }
    }

    /// Jumps the clock (nothing in flight is lost: links deliver late).
    func advance(_ duration: TCPDuration) {
        now = now + duration
        step()
    }

    @discardableResult
    func run(until done: () -> Bool, limit: TCPDuration = .seconds(120)) -> Bool {
        let end = now + limit
        while now < end {
            if done() { return true }
            step()
        }
        return done()
    }
}
