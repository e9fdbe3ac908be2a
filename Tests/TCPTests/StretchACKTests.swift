import Testing
import Wire
@testable import TCP

/// Stretch ACKs (TCPConnection+StretchACK.swift): a bulk receiver
/// acknowledges up to 64 KiB at once instead of every second segment,
/// without slowing the transfer; a held ACK still leaves within a timer
/// tick when the data stops; a slow flow keeps RFC 9293's ACK per two
/// full-sized segments.
@Suite struct StretchACKTests {
    /// 1 Gbit/s, 5 ms each way.
    static var path: ImpairmentPattern {
        var pattern = ImpairmentPattern.clean
        pattern.delay = .milliseconds(5)
        pattern.bitsPerSecond = 1_000_000_000
        return pattern
    }

    static func harness(stretch: Bool) throws -> TransferHarness {
        var configuration = TCPConfiguration()
        configuration.stretchACKs = stretch
        let harness = TransferHarness(configuration: configuration, toServer: path, toClient: path)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        return harness
    }

    /// 8 MiB client to server; the time it took and the ACKs the server sent.
    static func bulk(stretch: Bool) throws -> (time: TCPDuration, acks: Int, harness: TransferHarness) {
        let harness = try harness(stretch: stretch)
        let data = patternBytes(count: 8 << 20, seed: 11)
        let acksBefore = harness.server.statistics.segmentsSent
        let started = harness.now
        #expect(harness.transfer(data, from: harness.client, to: harness.server) == data)
        return (harness.now - started, harness.server.statistics.segmentsSent - acksBefore, harness)
    }

    @Test func aBulkReceiverAcknowledgesLessOftenAndNoSlower() throws {
        let stretched = try Self.bulk(stretch: true)
        let plain = try Self.bulk(stretch: false)
        // One ACK per two segments is about 2,900 for 8 MiB.
        #expect(plain.acks > 2_500)
        #expect(stretched.acks * 4 < plain.acks, "stretched \(stretched.acks), plain \(plain.acks)")
        #expect(stretched.harness.server.acknowledgmentThreshold > 16 * 1448)
        #expect(stretched.harness.server.acknowledgmentThreshold <= TCPConnection.maximumStretch)
        #expect(stretched.time.microseconds <= plain.time.microseconds * 11 / 10,
                "stretched \(stretched.time), plain \(plain.time)")
    }

    @Test func aHeldACKLeavesWithinATickWhenTheDataStops() throws {
        let (_, _, harness) = try Self.bulk(stretch: true)
        let server = harness.server, client = harness.client
        #expect(server.acknowledgmentThreshold > 3 * 1448)
        // Three full segments more, then nothing: owed by the two-segment
        // rule, under the stretch.
        let tail = patternBytes(count: 3 * 1448, seed: 12)
        #expect(tail.withUnsafeBytes { (try? client.send($0)) ?? 0 } == tail.count)
        let expected = server.receiveNext + tail.count
        #expect(harness.run(until: { server.receiveNext == expected }, limit: .seconds(1)))
        let arrived = harness.now
        #expect(server.bytesSinceLastACK > 0)  // held, not sent at once
        #expect(harness.run(until: { server.bytesSinceLastACK == 0 }, limit: .milliseconds(50)))
        // One tick of the timer wheel (1 ms), rounded up to the next tick.
        #expect((harness.now - arrived).microseconds <= 2_100, "held \(harness.now - arrived)")
        #expect(harness.run(until: { client.sendUnacknowledged == client.sendMax }, limit: .milliseconds(50)))
    }

    @Test func aFreshOrSlowFlowAcknowledgesEverySecondSegment() throws {
        let harness = try Self.harness(stretch: true)
        // Nothing received in a round trip yet: RFC 9293's two segments.
        #expect(harness.server.acknowledgmentThreshold == 2 * harness.server.sendMSS)
        // A trickle: 4 segments every 20 ms (less than 8 per round trip).
        for round in 0..<10 {
            let data = patternBytes(count: 4 * 1448, seed: UInt64(round))
            _ = data.withUnsafeBytes { (try? harness.client.send($0)) ?? 0 }
            let end = harness.now + .milliseconds(20)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while harness.now < end {
                harness.step()
                _ = buffer.withUnsafeMutableBytes { (try? harness.server.receive(into: $0)) ?? 0 }
            }
        }
        #expect(harness.server.acknowledgmentThreshold == 2 * harness.server.sendMSS)
    }
}
