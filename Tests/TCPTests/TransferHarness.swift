import Wire
@testable import TCP

/// Two connections of this module wired back to back through impaired links,
/// driven on a virtual clock: the in-process end-to-end test bed.
final class TransferHarness {
    let client: TCPConnection
    let server: TCPConnection
    var toServer: ImpairedLink
    var toClient: ImpairedLink
    var now = TCPInstant.milliseconds(1000)
    var lastDeliveredToClient: [WireSegment] = []
    /// The largest payload the client's connection built (TSO: before cutting).
    var largestClientPayload = 0

    static let clientEndpoint = TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: 50000)
    static let serverEndpoint = TCPEndpoint(address: IPv4Address(10, 0, 0, 2), port: 80)

    init(configuration: TCPConfiguration = TCPConfiguration(),
         clientOptions: TCPConnectionOptions = TCPConnectionOptions(),
         serverOptions: TCPConnectionOptions = TCPConnectionOptions(),
         toServer: ImpairmentPattern = .clean, toClient: ImpairmentPattern = .clean) {
        let secrets = TCPInitialSequenceNumbers(key: SipHashKey(k0: 1, k1: 2))
        client = TCPConnection(configuration: configuration, options: clientOptions,
                               local: Self.clientEndpoint, secrets: secrets)
        server = TCPConnection(configuration: configuration, options: serverOptions,
                               local: Self.serverEndpoint, secrets: TCPInitialSequenceNumbers(key: SipHashKey(k0: 3, k1: 4)))
        self.toServer = ImpairedLink(toServer)
        self.toClient = ImpairedLink(toClient)
    }

    func open() throws {
        try server.listen()
        try client.connect(to: Self.serverEndpoint, now: now)
    }

    /// One step: both sides send, due segments are delivered, time advances
    /// to the next event (at most `maxStep`).
    func step(maxStep: TCPDuration = .milliseconds(1)) {
        for segment in client.drain(now: now, largestPayload: &largestClientPayload) { toServer.send(segment, now: now) }
        for segment in server.drain(now: now) { toClient.send(segment, now: now) }
        var next = now + maxStep
        for candidate in [toServer.nextDelivery, toClient.nextDelivery, client.nextDeadline, server.nextDeadline] {
            if let candidate, candidate > now, candidate < next { next = candidate }
        }
        now = next
        for segment in toServer.deliver(now: now) { server.handle(segment, now: now) }
        lastDeliveredToClient = toClient.deliver(now: now)
        for segment in lastDeliveredToClient { client.handle(segment, now: now) }
    }

    /// Runs until `done` or the virtual time limit.
    @discardableResult
    func run(until done: () -> Bool, limit: TCPDuration = .seconds(600)) -> Bool {
        let end = now + limit
        while now < end {
            if done() { return true }
            step()
        }
        return done()
    }

    /// Sends `data` one way (client to server or back) while reading the
    /// other side; returns the bytes received.
    func transfer(_ data: [UInt8], from sender: TCPConnection, to receiver: TCPConnection,
                  limit: TCPDuration = .seconds(600)) -> [UInt8] {
        var offset = 0
        var received: [UInt8] = []
        received.reserveCapacity(data.count)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let end = now + limit
        while now < end && received.count < data.count {
            if offset < data.count {
                let taken = data.withUnsafeBytes { bytes in
                    (try? sender.send(UnsafeRawBufferPointer(rebasing: bytes[offset...]))) ?? 0
                }
                offset += taken
            }
            while true {
                let count = chunk.withUnsafeMutableBytes { (try? receiver.receive(into: $0)) ?? 0 }
                if count == 0 { break }
                received.append(contentsOf: chunk[0..<count])
            }
            if sender.state == .closed || receiver.state == .closed { break }
            step()
        }
        return received
    }
}

/// Deterministic test bytes (xorshift) so corruption or reordering shows.
func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[index] = UInt8(truncatingIfNeeded: state)
    }
    return out
}
