import Testing
import Wire
@testable import TCP

/// State × event cases beyond the basic ones (the rest of smoltcp's list).
@Suite struct MoreStateTests {
    let r = ScriptedConnection.remoteSeq

    @Test func simultaneousCloseWithCombinedFINACK() throws {
        let s = try ScriptedConnection.finWait1()
        s.send(seq: r + 1, ack: s.localSeq + 2, flags: .fin)
        #expect(s.state == .timeWait)
        #expect(s.recvOne()?.flags == [.ack])
    }

    @Test func simultaneousCloseRacedWithData() throws {
        let s = try ScriptedConnection.established()
        _ = try s.write([1, 2, 3])
        try s.connection.shutdownWrite()
        let out = s.recvOne()
        #expect(out?.flags == [.ack, .fin, .psh])
        // The peer's data and FIN cross ours; it has not seen our data yet.
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin, payload: [9])
        #expect(s.state == .closing)
        #expect(s.read() == [9])
        s.send(seq: r + 3, ack: s.localSeq + 5)
        #expect(s.state == .timeWait)
    }

    @Test func finWait1FINWithDataQueuedWaitsForData() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 2)
        _ = try s.write([1, 2, 3, 4])
        try s.connection.shutdownWrite()
        let first = s.recvOne()
        #expect(first?.payload == [1, 2])
        #expect(first?.flags.contains(.fin) == false)
        s.send(seq: r + 1, ack: s.localSeq + 3, window: 2)
        let second = s.recvOne()
        #expect(second?.payload == [3, 4])
        #expect(second?.flags.contains(.fin) == true)
        s.send(seq: r + 1, ack: s.localSeq + 6, window: 2)
        #expect(s.state == .finWait2)
    }

    @Test func zeroWindowStillAllowsFIN() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 0)
        try s.connection.shutdownWrite()
        #expect(s.recvOne()?.flags == [.fin, .ack])
    }

    @Test func lastAckIgnoresACKNotCoveringFIN() throws {
        let s = try ScriptedConnection.established()
        _ = try s.write([1])
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin)
        _ = s.recv()
        s.connection.close(now: s.now)
        _ = s.recv()
        #expect(s.state == .lastAck)
        s.send(seq: r + 2, ack: s.localSeq + 2)  // acknowledges the data only
        #expect(s.state == .lastAck)
        s.send(seq: r + 2, ack: s.localSeq + 3)
        #expect(s.state == .closed)
    }

    @Test func lastAckGivesUpAfterRetransmissions() throws {
        var configuration = TCPConfiguration()
        configuration.maximumRetransmissions = 2
        let s = try ScriptedConnection.established(configuration: configuration)
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin)
        s.connection.close(now: s.now)
        _ = s.recv()
        for _ in 0..<3 {
            s.advance(.seconds(60))
            _ = s.recv()
        }
        #expect(s.state == .closed)
        #expect(s.connection.error == .timedOut)
    }

    @Test func finWait1GivesUpAfterRetransmissions() throws {
        var configuration = TCPConfiguration()
        configuration.maximumRetransmissions = 2
        let s = try ScriptedConnection.established(configuration: configuration)
        s.connection.close(now: s.now)
        _ = s.recv()
        for _ in 0..<3 {
            s.advance(.seconds(60))
            _ = s.recv()
        }
        #expect(s.state == .closed)
    }

    @Test func closeInClosingAndTimeWaitChangesNothing() throws {
        let closing = try ScriptedConnection.closing()
        closing.connection.close(now: closing.now)
        #expect(closing.state == .closing)
        closing.expectNothing()
        let timeWait = try ScriptedConnection.timeWait()
        timeWait.connection.close(now: timeWait.now)
        #expect(timeWait.state == .timeWait)
        timeWait.expectNothing()
    }

    @Test func receiveAcrossSequenceWrap() throws {
        let s = try ScriptedConnection.listening()
        let nearWrap = TCPSequenceNumber(0xffff_fffa)
        s.send(seq: nearWrap, flags: .syn)
        _ = s.recv()
        s.send(seq: nearWrap + 1, ack: s.localSeq + 1)
        let data = [UInt8](0..<20)
        s.send(seq: nearWrap + 1, ack: s.localSeq + 1, payload: Array(data[0..<10]))
        s.send(seq: nearWrap + 11, ack: s.localSeq + 1, payload: Array(data[10...]))
        #expect(s.read() == data)
        s.advance(.milliseconds(40))
        #expect(s.recv().last?.ack == nearWrap + 21)
        #expect((nearWrap + 21).rawValue == 15)
    }

    @Test func sendAcrossSequenceWrap() throws {
        let s = try ScriptedConnection.established()
        // Move our side to just before the wrap (as if 4 GiB had gone by).
        let c = s.connection
        let nearWrap = TCPSequenceNumber(0xffff_fff0)
        c.sendUnacknowledged = nearWrap
        c.sendNext = nearWrap
        c.sendMax = nearWrap
        c.recoveryPoint = nearWrap
        c.sendWindowUpdateAcknowledgment = nearWrap
        _ = try s.write([UInt8](repeating: 3, count: 40))
        let out = s.recvOne()
        #expect(out?.seq == nearWrap)
        #expect(out?.payload.count == 40)
        s.send(seq: r + 1, ack: nearWrap + 40)
        #expect(c.bytesUnacknowledged == 0)
        #expect(c.sendUnacknowledged.rawValue == 0x18)
    }

    @Test func retransmissionBurstWithPartialACKs() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 100))
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 10_000)
        _ = try s.write([UInt8](repeating: 1, count: 400))
        #expect(s.recv().count == 4)
        s.advance(s.connection.retransmissionTimeout)
        #expect(s.recv().map(\.seq) == [s.localSeq + 1])  // cwnd is one segment after a timeout
        s.send(seq: r + 1, ack: s.localSeq + 101, window: 10_000)
        let burst = s.recv()
        #expect(burst.map(\.seq) == [s.localSeq + 101, s.localSeq + 201])  // slow start: two
        s.send(seq: r + 1, ack: s.localSeq + 401, window: 10_000)
        #expect(s.connection.bytesUnacknowledged == 0)
        #expect(s.connection.nextDeadline == nil)
    }

    @Test func retransmitTimerRestartsOnPartialACK() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 100))
        _ = try s.write([UInt8](repeating: 1, count: 300))
        _ = s.recv()
        s.advance(.milliseconds(500))
        s.send(seq: r + 1, ack: s.localSeq + 101)
        #expect(s.connection.retransmitDeadline == s.now + s.connection.retransmissionTimeout)
    }

    @Test func fastRetransmitNotTriggeredByWindowUpdates() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 100))
        _ = try s.write([UInt8](repeating: 1, count: 300))
        _ = s.recv()
        for window in [1000, 2000, 3000, 4000] as [UInt16] { s.send(seq: r + 1, ack: s.localSeq + 1, window: window) }
        #expect(s.connection.statistics.fastRetransmits == 0)
    }

    @Test func fastRetransmitNotTriggeredByACKsWithData() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 100))
        _ = try s.write([UInt8](repeating: 1, count: 300))
        _ = s.recv()
        for index in 0..<4 { s.send(seq: r + 1 + index, ack: s.localSeq + 1, payload: [1]) }
        #expect(s.connection.statistics.fastRetransmits == 0)
        #expect(s.connection.statistics.duplicateACKsReceived == 0)
    }

    @Test func newDataIsQueuedDuringRetransmission() throws {
        let s = try ScriptedConnection.established()
        _ = try s.write([1, 2])
        _ = s.recv()
        s.advance(s.connection.retransmissionTimeout)
        _ = try s.write([3, 4])
        // The retransmission from SND.UNA carries the new bytes too.
        #expect(s.recv().map(\.payload) == [[1, 2, 3, 4]])
        s.send(seq: r + 1, ack: s.localSeq + 5)
        #expect(s.connection.bytesUnacknowledged == 0)
        s.expectNothing()
    }

    @Test func pushFlagOnLastSegmentOfBuffer() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 100))
        _ = try s.write([UInt8](repeating: 1, count: 200))
        let out = s.recv()
        #expect(out.map { $0.flags.contains(.psh) } == [false, true])
    }

    @Test func closeWaitSendsNoWindowUpdates() throws {
        let s = try ScriptedConnection.closeWait()
        s.send(seq: r + 2, ack: s.localSeq + 1)
        s.expectNothing()
    }

    @Test func rstWithHoleStillResets() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 10, ack: s.localSeq + 1, payload: [1])
        _ = s.recv()
        s.send(seq: r + 1, flags: .rst)
        #expect(s.state == .closed)
        #expect(s.connection.error == .connectionReset)
    }

    @Test func finAfterHoleIsHeldUntilHoleFills() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 2, ack: s.localSeq + 1, flags: .fin, payload: [2])
        #expect(s.state == .established)
        #expect(!s.connection.isAtEndOfStream)
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1])
        #expect(s.state == .closeWait)
        #expect(s.read() == [1, 2])
        #expect(s.connection.isAtEndOfStream)
    }
}
