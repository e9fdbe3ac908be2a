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
