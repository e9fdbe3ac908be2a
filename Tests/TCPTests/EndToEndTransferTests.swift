import Testing
import Wire
@testable import TCP

@Suite struct EndToEndTransferTests {
    @Test func handshakeCompletes() throws {
        let harness = TransferHarness()
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        #expect(harness.client.takeEvents().contains(.connected))
        #expect(harness.server.takeEvents().contains(.connected))
        #expect(harness.client.timestampsEnabled && harness.client.sackEnabled && harness.client.windowScalingEnabled)
    }

    @Test func cleanTransferDeliversIdenticalBytes() throws {
        let harness = TransferHarness()
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established }))
        let data = patternBytes(count: 2_000_000, seed: 7)
        let received = harness.transfer(data, from: harness.client, to: harness.server)
        #expect(received.count == data.count)
        #expect(received == data)
    }
}

extension EndToEndTransferTests {
    static let impairments: [(String, ImpairmentPattern)] = [
        ("drop 1 in 23", ImpairmentPattern(dropEvery: 23, dropPhase: 5)),
        ("reorder 1 in 5", ImpairmentPattern(reorderEvery: 5, reorderDelay: .milliseconds(3))),
        ("duplicate 1 in 50", ImpairmentPattern(duplicateEvery: 50)),
        ("all at once", ImpairmentPattern(dropEvery: 31, dropPhase: 7, duplicateEvery: 97, reorderEvery: 4,
                                          reorderDelay: .milliseconds(2), delay: .milliseconds(5))),
    ]

    @Test(arguments: 0..<4, [false, true])
    func impairedTransferDeliversIdenticalBytes(impairment: Int, sack: Bool) throws {
        var options = TCPConnectionOptions()
        options.selectiveAcknowledgments = sack
        let (_, pattern) = Self.impairments[impairment]
        var reverse = pattern
        reverse.dropPhase = (pattern.dropPhase + 3) % max(pattern.dropEvery, 1)
        let harness = TransferHarness(clientOptions: options, serverOptions: options, toServer: pattern, toClient: reverse)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        let data = patternBytes(count: 3_000_000, seed: 11)
        let received = harness.transfer(data, from: harness.client, to: harness.server)
        #expect(received.count == data.count)
        #expect(received == data)
        let back = patternBytes(count: 1_000_000, seed: 12)
        let returned = harness.transfer(back, from: harness.server, to: harness.client)
        #expect(returned == back)
        print("impairment \(impairment) sack \(sack): client \(harness.client.statistics) server \(harness.server.statistics) time \(harness.now)")
    }

    @Test(arguments: [TCPCongestionAlgorithm.newReno, .cubic])
    func lossyTransferWithEachCongestionControl(algorithm: TCPCongestionAlgorithm) throws {
        var options = TCPConnectionOptions()
        options.congestionControl = algorithm
        let harness = TransferHarness(clientOptions: options, serverOptions: options,
                                      toServer: ImpairmentPattern(dropEvery: 40, dropPhase: 3, delay: .milliseconds(10)))
        try harness.open()
        let data = patternBytes(count: 4_000_000, seed: 13)
        #expect(harness.run(until: { harness.client.state == .established }))
        let received = harness.transfer(data, from: harness.client, to: harness.server)
        #expect(received == data)
        print("\(algorithm): cwnd \(harness.client.congestionWindow) time \(harness.now) \(harness.client.statistics)")
    }
}

extension EndToEndTransferTests {
    /// The impairment level of the Linux-peer tests: 5% loss, 20% reordering
    /// with delay, 1% duplication, both ways, several MB each way.
    @Test(arguments: [TCPCongestionAlgorithm.newReno, .cubic])
    func heavyImpairmentBothWays(algorithm: TCPCongestionAlgorithm) throws {
        var options = TCPConnectionOptions()
        options.congestionControl = algorithm
        let forward = ImpairmentPattern(dropEvery: 20, dropPhase: 7, duplicateEvery: 100, reorderEvery: 5,
                                        reorderDelay: .milliseconds(4), delay: .milliseconds(2))
        var backward = forward
        backward.dropPhase = 13
        let harness = TransferHarness(clientOptions: options, serverOptions: options, toServer: forward, toClient: backward)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        let up = patternBytes(count: 5_000_000, seed: 21)
        let start = harness.now
        #expect(harness.transfer(up, from: harness.client, to: harness.server) == up)
        let down = patternBytes(count: 5_000_000, seed: 22)
        #expect(harness.transfer(down, from: harness.server, to: harness.client) == down)
        let seconds = (harness.now - start).seconds
        print("heavy impairment \(algorithm): 10 MB in \(seconds) s virtual, drops \(harness.toServer.dropped)+\(harness.toClient.dropped), reordered \(harness.toServer.reordered), duplicated \(harness.toServer.duplicated); client \(harness.client.statistics.retransmissionTimeouts) RTOs \(harness.client.statistics.fastRetransmits) fast; server \(harness.server.statistics.retransmissionTimeouts) RTOs \(harness.server.statistics.fastRetransmits) fast")
        // Orderly close under the same impairment.
        try harness.client.shutdownWrite()
        try harness.server.shutdownWrite()
        #expect(harness.run(until: { harness.client.state == .timeWait || harness.client.state == .closed }, limit: .seconds(60)))
        #expect(harness.run(until: { harness.server.state == .closed || harness.server.state == .timeWait }, limit: .seconds(60)))
    }
}
