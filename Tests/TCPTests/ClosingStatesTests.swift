import Testing
import Wire
@testable import TCP

@Suite struct ClosingStatesTests {
    let r = ScriptedConnection.remoteSeq

    @Test func finWait1ReceivesACKOfFINGoesFinWait2() throws {
        let s = try ScriptedConnection.finWait1()
        s.send(seq: r + 1, ack: s.localSeq + 2)
        #expect(s.state == .finWait2)
        s.expectNothing()
    }

    @Test func finWait1ReceivesFINGoesClosing() throws {
        let s = try ScriptedConnection.finWait1()
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin)
        #expect(s.state == .closing)
        #expect(s.recvOne()?.ack == r + 2)
    }

    @Test func finWait1ReceivesFINACKGoesTimeWait() throws {
        let s = try ScriptedConnection.finWait1()
        s.send(seq: r + 1, ack: s.localSeq + 2, flags: .fin)
        #expect(s.state == .timeWait)
        #expect(s.recvOne()?.ack == r + 2)
    }

    @Test func finWait1RetransmitsFIN() throws {
        let s = try ScriptedConnection.finWait1()
        s.advance(.seconds(1))
        let again = s.recvOne()
        #expect(again?.flags == [.fin, .ack])
        #expect(again?.seq == s.localSeq + 1)
    }

    @Test func finWait1StillReceivesData() throws {
        let s = try ScriptedConnection.established()
        try s.connection.shutdownWrite()  // half-close: we may still read
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [5, 6])
        #expect(s.read() == [5, 6])
        #expect(s.state == .finWait1)
    }

    @Test func finWait1ReceivesRSTResets() throws {
        let s = try ScriptedConnection.finWait1()
        s.send(seq: r + 1, flags: .rst)
        #expect(s.state == .closed)
    }

    @Test func finWait2ReceivesFINGoesTimeWait() throws {
        let s = try ScriptedConnection.finWait2()
        s.send(seq: r + 1, ack: s.localSeq + 2, flags: .fin)
        #expect(s.state == .timeWait)
        #expect(s.recvOne()?.ack == r + 2)
    }

    @Test func finWait2StillReceivesData() throws {
        let s = try ScriptedConnection.established()
        try s.connection.shutdownWrite()
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 2)
        #expect(s.state == .finWait2)
        s.send(seq: r + 1, ack: s.localSeq + 2, payload: [1, 2, 3])
        #expect(s.read() == [1, 2, 3])
    }

    @Test func finWait2TimesOutWhenOrphaned() throws {
        var configuration = TCPConfiguration()
        configuration.finWait2Timeout = .seconds(10)
        let s = ScriptedConnection(configuration: configuration)
        try s.connection.listen()
        s.send(seq: r, flags: .syn)
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 1)
        s.connection.close(now: s.now)
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 2)
        #expect(s.state == .finWait2)
        s.advance(.seconds(9))
        #expect(s.state == .finWait2)
        s.advance(.seconds(1))
        #expect(s.state == .closed)
    }

    @Test func finWait2HalfClosedDoesNotTimeOut() throws {
        let s = try ScriptedConnection.established()
        try s.connection.shutdownWrite()
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 2)
        s.advance(.seconds(600))
        #expect(s.state == .finWait2)
    }

    @Test func closeWaitStillSendsData() throws {
        let s = try ScriptedConnection.closeWait()
        _ = try s.write([1, 2])
        #expect(s.recvOne()?.payload == [1, 2])
    }

    @Test func closeWaitCloseSendsFINGoesLastAck() throws {
        let s = try ScriptedConnection.lastAck()
        #expect(s.state == .lastAck)
    }

    @Test func closeWaitReceivesRSTResets() throws {
        let s = try ScriptedConnection.closeWait()
        s.send(seq: r + 2, flags: .rst)
        #expect(s.state == .closed)
        #expect(s.connection.error == .connectionReset)
    }

    @Test func closeWaitReACKsRetransmittedFIN() throws {
        let s = try ScriptedConnection.closeWait()
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin)
        #expect(s.recvOne()?.ack == r + 2)
        #expect(s.state == .closeWait)
    }

    @Test func closingReceivesACKGoesTimeWait() throws {
        let s = try ScriptedConnection.closing()
        s.send(seq: r + 2, ack: s.localSeq + 2)
        #expect(s.state == .timeWait)
    }

    @Test func closingRetransmitsFIN() throws {
        let s = try ScriptedConnection.closing()
        s.advance(.seconds(1))
        #expect(s.recvOne()?.flags == [.fin, .ack])
    }

    @Test func lastAckReceivesACKCloses() throws {
        let s = try ScriptedConnection.lastAck()
        s.send(seq: r + 2, ack: s.localSeq + 2)
        #expect(s.state == .closed)
        #expect(s.connection.error == nil)
        #expect(s.connection.takeEvents().contains(.closed))
    }

    @Test func lastAckRetransmitsFIN() throws {
        let s = try ScriptedConnection.lastAck()
        s.advance(.seconds(1))
        #expect(s.recvOne()?.flags == [.fin, .ack])
    }

    @Test func lastAckReceivesRSTCloses() throws {
        let s = try ScriptedConnection.lastAck()
        s.send(seq: r + 2, flags: .rst)
        #expect(s.state == .closed)
    }

    @Test func timeWaitReACKsRetransmittedFIN() throws {
        let s = try ScriptedConnection.timeWait()
        s.advance(.seconds(30))
        s.send(seq: r + 1, ack: s.localSeq + 2, flags: .fin)
        #expect(s.recvOne()?.ack == r + 2)
        s.advance(.seconds(59))
        #expect(s.state == .timeWait)  // the timer restarted
        s.advance(.seconds(1))
        #expect(s.state == .closed)
    }

    @Test func timeWaitNotExtendedByOtherFINs() throws {
        let s = try ScriptedConnection.timeWait()
        s.advance(.seconds(30))
        s.send(seq: r + 500, ack: s.localSeq + 2, flags: .fin)  // not the peer's FIN
        _ = s.recv()
        s.advance(.seconds(30))
        #expect(s.state == .closed)
    }

    @Test func timeWaitExpiresAfterTwoMSL() throws {
        let s = try ScriptedConnection.timeWait()
        s.advance(.seconds(59))
        #expect(s.state == .timeWait)
        s.advance(.seconds(1))
        #expect(s.state == .closed)
    }

    @Test func timeWaitIgnoresRST() throws {
        let s = try ScriptedConnection.timeWait()
        s.send(seq: r + 2, flags: .rst)
        #expect(s.state == .timeWait)  // RFC 1337
    }

    @Test func timeWaitAnswersSYNWithACK() throws {
        let s = try ScriptedConnection.timeWait()
        s.send(seq: r + 2, flags: .syn)
        #expect(s.recvOne()?.flags == [.ack])
        #expect(s.state == .timeWait)
    }

    @Test func timeWaitDurationIsConfigurable() throws {
        var configuration = TCPConfiguration()
        configuration.maximumSegmentLifetime = .seconds(1)
        let s = ScriptedConnection(configuration: configuration)
        try s.connection.connect(to: ScriptedConnection.remote, now: s.now)
        _ = s.recv()
        s.send(seq: r, ack: s.localSeq + 1, flags: .syn)
        _ = s.recv()
        try s.connection.shutdownWrite()
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 2, flags: .fin)
        #expect(s.state == .timeWait)
        s.advance(.seconds(2))
        #expect(s.state == .closed)
    }
}

@Suite struct SimultaneousTests {
    @Test func simultaneousOpenEstablishesBothEnds() throws {
        let harness = TransferHarness()
        try harness.client.connect(to: TransferHarness.serverEndpoint, now: harness.now)
        harness.server.tuple.remote = TransferHarness.clientEndpoint
        try harness.server.connect(to: TransferHarness.clientEndpoint, now: harness.now)
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established },
                            limit: .seconds(10)))
        let data = patternBytes(count: 100_000, seed: 3)
        #expect(harness.transfer(data, from: harness.client, to: harness.server) == data)
    }

    @Test func simultaneousCloseBothReachTimeWait() throws {
        let harness = TransferHarness()
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        try harness.client.shutdownWrite()
        try harness.server.shutdownWrite()
        // Both FINs cross on the wire.
        #expect(harness.run(until: { harness.client.state == .timeWait && harness.server.state == .timeWait },
                            limit: .seconds(5)))
        #expect(harness.run(until: { harness.client.state == .closed && harness.server.state == .closed },
                            limit: .seconds(70)))
    }

    @Test func halfCloseBothWays() throws {
        let harness = TransferHarness()
        try harness.open()
        #expect(harness.run(until: { harness.server.state == .established }))
        try harness.client.shutdownWrite()
        #expect(harness.run(until: { harness.server.state == .closeWait && harness.client.state == .finWait2 }))
        // The server keeps sending after the client's FIN.
        let data = patternBytes(count: 500_000, seed: 5)
        #expect(harness.transfer(data, from: harness.server, to: harness.client) == data)
        try harness.server.shutdownWrite()
        #expect(harness.run(until: { harness.server.state == .closed && harness.client.state == .timeWait }))
        #expect(harness.client.isAtEndOfStream && harness.server.isAtEndOfStream)
    }
}
