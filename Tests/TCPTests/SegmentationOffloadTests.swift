import Testing
import Wire
@testable import TCP

/// TCP output with segmentation offload (TSO): segments larger than one MSS
/// for the device to cut, bounded by cwnd, the peer's window and the 64 KiB
/// limit, in whole MSS pieces, with the options of every piece right.
@Suite struct SegmentationOffloadTests {
    static func offloading(limit: Int = TCPConfiguration.largestOffloadedPayload) -> TCPConfiguration {
        var configuration = TCPConfiguration()
        configuration.segmentationOffloadLimit = limit
        return configuration
    }

    /// An established connection whose peer announced an MSS of 1460.
    static func established(options: TCPConnectionOptions = ScriptedConnection.plainOptions(),
                            synOptions: TCPOptions = TCPOptions(), limit: Int = TCPConfiguration.largestOffloadedPayload)
        throws -> ScriptedConnection {
        var synOptions = synOptions
        synOptions.maximumSegmentSize = 1460
        return try ScriptedConnection.established(options: options, synOptions: synOptions,
                                                  configuration: offloading(limit: limit))
    }

    /// Every segment the connection has ready, as the stack gets them.
    static func segments(_ script: ScriptedConnection) -> [TCPOutgoingSegment] {
        var out: [TCPOutgoingSegment] = []
        while let segment = script.connection.nextSegment(now: script.now), out.count < 1000 { out.append(segment) }
        return out
    }

    @Test func firstFlightIsOneSegmentOfTheCongestionWindow() throws {
        let script = try Self.established()
        #expect(try script.write([UInt8](repeating: 7, count: 40_000)) == 40_000)
        let out = Self.segments(script)
        let cwnd = script.connection.congestionWindow
        #expect(out.count == 1)
        let segment = try #require(out.first)
        #expect(segment.segmentSize == 1460)
        #expect(segment.payloadLength == cwnd / 1460 * 1460)
        #expect(segment.payloadLength % segment.segmentSize == 0)
        #expect(segment.needsSegmentation)
        #expect(segment.wireSegments == cwnd / 1460)
        #expect(script.connection.statistics.segmentsSent >= UInt64(segment.wireSegments))
    }

    @Test func eachFamilyHasItsOwnLimit() throws {
        // A port that cuts TCP over IPv6 only (or the stack's IPv6 limit
        // alone): an IPv4 connection still sends one MSS per segment.
        var configuration = TCPConfiguration()
        configuration.segmentationOffloadLimitIPv6 = TCPConfiguration.largestOffloadedPayloadIPv6
        var synOptions = TCPOptions()
        synOptions.maximumSegmentSize = 1460
        let script = try ScriptedConnection.established(synOptions: synOptions, configuration: configuration)
        _ = try script.write([UInt8](repeating: 5, count: 20_000))
        let out = Self.segments(script)
        #expect(!out.isEmpty)
        #expect(out.allSatisfy { !$0.needsSegmentation && $0.payloadLength <= 1460 })
        #expect(TCPConfiguration.largestOffloadedPayloadIPv6 == 65_535 - 60, "the IPv6 payload length less the largest TCP header")
    }

    @Test func peerWindowBoundsTheSegmentInWholePieces() throws {
        let script = try Self.established()
        // The peer shrinks its window to 3000 bytes: two full pieces fit
        // (2920), the rest would be a small piece in the middle of the data.
        script.send(seq: ScriptedConnection.remoteSeq + 1, ack: script.localSeq + 1, window: 3000)
        _ = try script.write([UInt8](repeating: 1, count: 20_000))
        let segment = try #require(Self.segments(script).first)
        #expect(segment.payloadLength == 2920)
        #expect(segment.wireSegments == 2)
    }

    @Test func limitBoundsTheSegment() throws {
        let script = try Self.established(limit: 2 * 1460 + 100)
        _ = try script.write([UInt8](repeating: 1, count: 20_000))
        let out = Self.segments(script)
        #expect(out.allSatisfy { $0.payloadLength <= 2 * 1460 + 100 })
        #expect(out.first?.payloadLength == 2 * 1460)
    }

    @Test func lastSegmentCarriesTheFINAndTheTail() throws {
        let script = try Self.established()
        _ = try script.write([UInt8](repeating: 3, count: 4000))
        script.connection.close(now: script.now)
        let segment = try #require(Self.segments(script).first)
        // All the data (a tail shorter than one piece included) and the FIN.
        #expect(segment.payloadLength == 4000)
        #expect(segment.repr.flags.contains(.fin))
        let wire = WireSegment(repr: segment.repr, payload: [UInt8](repeating: 3, count: 4000),
                               source: segment.source.ipv4Mapped!, destination: segment.destination.ipv4Mapped!)
        let pieces = wire.cutLikeDevice(segmentSize: segment.segmentSize)
        #expect(pieces.map(\.payload.count) == [1460, 1460, 1080])
        #expect(pieces.map { $0.repr.flags.contains(.fin) } == [false, false, true])
        #expect(pieces.map(\.seq) == [script.localSeq + 1, script.localSeq + 1461, script.localSeq + 2921])
    }

    @Test func optionsShrinkEachPieceSoThatItFitsTheMTU() throws {
        var options = ScriptedConnection.plainOptions()
        options.timestamps = true
        options.selectiveAcknowledgments = true
        var synOptions = TCPOptions()
        synOptions.timestamp = (1000, 0)
        synOptions.sackPermitted = true
        let script = try Self.established(options: options, synOptions: synOptions)
        // A hole in what we receive: our segments carry a SACK block too.
        var stamp = TCPOptions()
        stamp.timestamp = (1001, script.connection.timestampClock(script.now))
        script.send(seq: ScriptedConnection.remoteSeq + 101, ack: script.localSeq + 1, options: stamp,
                    payload: [UInt8](repeating: 9, count: 100))
        _ = Self.segments(script)  // the duplicate ACK
        _ = try script.write([UInt8](repeating: 5, count: 30_000))
        let segment = try #require(Self.segments(script).first)
        #expect(segment.repr.options.timestamp != nil)
        #expect(segment.repr.options.sackBlocks.count == 1)
        // IPv4 + TCP header with options + one piece = the MTU.
        #expect(20 + segment.repr.headerLength + segment.segmentSize == 1500)
        #expect(segment.segmentSize == 1460 - 12 - 12)
        #expect(segment.payloadLength % segment.segmentSize == 0)
    }

    @Test func retransmissionsAreOneMSS() throws {
        let script = try Self.established()
        _ = try script.write([UInt8](repeating: 2, count: 10_000))
        let first = try #require(Self.segments(script).first)
        #expect(first.needsSegmentation)
        script.advance(.seconds(2))  // the retransmission timeout
        let resent = try #require(Self.segments(script).first)
        #expect(resent.repr.sequenceNumber == first.repr.sequenceNumber)
        #expect(resent.payloadLength == 1460)
        #expect(!resent.needsSegmentation)
    }

    @Test func withoutTheLimitSegmentsStayOneMSS() throws {
        var synOptions = TCPOptions()
        synOptions.maximumSegmentSize = 1460
        let script = try ScriptedConnection.established(synOptions: synOptions)
        _ = try script.write([UInt8](repeating: 2, count: 10_000))
        let out = Self.segments(script)
        #expect(!out.isEmpty)
        #expect(out.allSatisfy { $0.payloadLength <= 1460 && !$0.needsSegmentation })
    }

    @Test(arguments: [ImpairmentPattern.clean, ImpairmentPattern(dropEvery: 23, dropPhase: 5, duplicateEvery: 31, reorderEvery: 7)])
    func transferThroughACuttingDeviceArrivesWhole(pattern: ImpairmentPattern) throws {
        let harness = TransferHarness(configuration: Self.offloading(), toServer: pattern, toClient: pattern)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        let data = patternBytes(count: 1_000_000, seed: 17)
        let received = harness.transfer(data, from: harness.client, to: harness.server)
        #expect(received == data)
        // TSO was used, within the limit of an IPv4 datagram.
        #expect(harness.largestClientPayload > 2 * 1448)
        #expect(harness.largestClientPayload <= TCPConfiguration.largestOffloadedPayload)
    }
}
