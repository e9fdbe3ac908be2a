import Testing
import Wire
@testable import TCP

@Suite struct EstablishedTests {
    let r = ScriptedConnection.remoteSeq

    @Test func establishedReceivesDataAndDelaysACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2, 3])
        #expect(s.read() == [1, 2, 3])
        s.expectNothing()
        s.advance(.milliseconds(39))
        s.expectNothing()
        s.advance(.milliseconds(1))
        let ack = s.recvOne()
        #expect(ack?.ack == r + 4)
    }

    @Test func establishedACKsEverySecondFullSegment() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 1000))
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 1000))
        s.expectNothing()
        s.send(seq: r + 1001, ack: s.localSeq + 1, payload: [UInt8](repeating: 2, count: 1000))
        #expect(s.recvOne()?.ack == r + 2001)
    }

    @Test func establishedSendsDataAndAcceptsACK() throws {
        let s = try ScriptedConnection.established()
        #expect(try s.write(Array("abcdef".utf8)) == 6)
        let data = s.recvOne()
        #expect(data?.payload == Array("abcdef".utf8))
        #expect(data?.flags == [.ack, .psh])
        #expect(data?.seq == s.localSeq + 1)
        s.send(seq: r + 1, ack: s.localSeq + 7)
        #expect(s.connection.bytesUnacknowledged == 0)
        #expect(s.connection.takeEvents().contains(.writable))
    }

    @Test func establishedReceivesOutOfOrderSendsDuplicateACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 4, ack: s.localSeq + 1, payload: [4, 5, 6])
        #expect(s.read().isEmpty)
        let dup = s.recvOne()
        #expect(dup?.ack == r + 1)
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2, 3])
        #expect(s.read() == [1, 2, 3, 4, 5, 6])
        #expect(s.recvOne()?.ack == r + 7)  // a filled hole is acknowledged at once
    }

    @Test func establishedOutOfOrderCarriesSACKBlocks() throws {
        var options = ScriptedConnection.plainOptions()
        options.selectiveAcknowledgments = true
        let s = try ScriptedConnection.established(options: options, synOptions: TCPOptions(sackPermitted: true))
        s.send(seq: r + 11, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 10))
        _ = s.recv()
        s.send(seq: r + 31, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 10))
        let dup = s.recvOne()
        #expect(dup?.ack == r + 1)
        let blocks = dup?.repr.options.sackBlocks
        #expect(blocks?.count == 2)
        #expect(blocks?.first == TCPSACKBlock(left: (r + 31).rawValue, right: (r + 41).rawValue))  // most recent first
        #expect(blocks?.last == TCPSACKBlock(left: (r + 11).rawValue, right: (r + 21).rawValue))
    }

    @Test func establishedReceivesFINGoesCloseWait() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, flags: .fin, payload: [7])
        #expect(s.state == .closeWait)
        #expect(s.connection.takeEvents().isSuperset(of: [.readable, .readClosed]))
        #expect(s.read() == [7])
        #expect(s.connection.isAtEndOfStream)
        #expect(s.recvOne()?.ack == r + 3)
    }

    @Test func establishedOutOfOrderFINWaitsForData() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 3, ack: s.localSeq + 1, flags: .fin, payload: [3])
        #expect(s.state == .established)
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2])
        #expect(s.state == .closeWait)
        #expect(s.read() == [1, 2, 3])
    }

    @Test func establishedReceivesRSTWithExactSequenceResets() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, flags: .rst)
        #expect(s.state == .closed)
        #expect(s.connection.error == .connectionReset)
        s.expectNothing()
    }

    @Test func establishedReceivesRSTInWindowSendsChallengeACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 100, flags: .rst)
        #expect(s.state == .established)
        let challenge = s.recvOne()
        #expect(challenge?.flags == [.ack])
        #expect(challenge?.ack == r + 1)
        #expect(s.connection.statistics.challengeACKsSent == 1)
    }

    @Test func establishedIgnoresRSTOutsideWindow() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 200_000, flags: .rst)
        #expect(s.state == .established)
        s.expectNothing()
    }

    @Test func establishedReceivesSYNSendsChallengeACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, flags: .syn)
        #expect(s.state == .established)
        let challenge = s.recvOne()
        #expect(challenge?.flags == [.ack])
        #expect(challenge?.ack == r + 1)
    }

    @Test func establishedChallengeACKsAreRateLimited() throws {
        var configuration = TCPConfiguration()
        configuration.challengeACKsPerSecond = 3
        let s = try ScriptedConnection.established(configuration: configuration)
        for offset in 0..<10 { s.send(seq: r + 50 + offset, flags: .rst) }
        #expect(s.connection.statistics.challengeACKsSent == 3)
        #expect(s.connection.statistics.challengeACKsSuppressed == 7)
        s.advance(.seconds(1))
        _ = s.recv()
        s.send(seq: r + 50, flags: .rst)
        #expect(s.connection.statistics.challengeACKsSent == 4)
    }

    @Test func establishedReceivesACKOfUnsentDataRepliesACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1000, payload: [1])
        #expect(s.read().isEmpty)  // the segment is dropped
        let ack = s.recvOne()
        #expect(ack?.ack == r + 1)
        #expect(ack?.seq == s.localSeq + 1)
    }

    @Test func establishedReceivesTooOldACKSendsChallengeACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq - 200_000, payload: [1])
        #expect(s.read().isEmpty)
        #expect(s.recvOne()?.ack == r + 1)
        #expect(s.connection.statistics.challengeACKsSent == 1)
    }

    @Test func establishedUnacceptableSegmentGetsACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r - 500, ack: s.localSeq + 1, payload: [1, 2])  // old duplicate
        let ack = s.recvOne()
        #expect(ack?.ack == r + 1)
        #expect(s.connection.statistics.unacceptableSegments == 1)
    }

    /// A peer that filled our whole window and lost a segment of it sends its
    /// ACKs with SEQ = its SND.NXT = RCV.NXT + RCV.WND, our right edge. Their
    /// ACK fields must count (Linux and FreeBSD accept a zero-length segment
    /// at the edge); dropped as unacceptable, our sending stalled until the
    /// RTO. Found against Linux through dp-impair (Tools/test.d/56).
    @Test func establishedAcceptsACKAtRightWindowEdge() throws {
        var options = ScriptedConnection.plainOptions()
        options.receiveBufferSize = 4000
        let s = try ScriptedConnection.established(options: options, synOptions: TCPOptions(maximumSegmentSize: 1000))
        #expect(try s.write([UInt8](repeating: 9, count: 500)) == 500)
        #expect(s.recvOne()?.payload.count == 500)
        // The peer fills our 4000-byte window; its first segment is lost.
        for offset in [1001, 2001, 3001] {
            s.send(seq: r + offset, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 1000))
        }
        #expect(s.recv().allSatisfy { $0.ack == r + 1 })  // duplicate ACKs for the hole
        // Its next ACK sits exactly at our right edge and acknowledges our data.
        s.send(seq: r + 4001, ack: s.localSeq + 501)
        #expect(s.connection.bytesUnacknowledged == 0)
        #expect(s.connection.statistics.unacceptableSegments == 0)
        // One byte beyond the edge is still unacceptable.
        s.send(seq: r + 4002, ack: s.localSeq + 501)
        #expect(s.connection.statistics.unacceptableSegments == 1)
    }

    @Test func establishedWithZeroWindowAcceptsACKAtReceiveNext() throws {
        var options = ScriptedConnection.plainOptions()
        options.receiveBufferSize = 1000
        let s = try ScriptedConnection.established(options: options, synOptions: TCPOptions(maximumSegmentSize: 1000))
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 1000))
        s.advance(.milliseconds(40))
        #expect(s.recvOne()?.repr.window == 0)
        #expect(try s.write([UInt8](repeating: 9, count: 300)) == 300)
        #expect(s.recvOne()?.payload.count == 300)
        s.send(seq: r + 1001, ack: s.localSeq + 301)
        #expect(s.connection.bytesUnacknowledged == 0)
        s.send(seq: r + 1002, ack: s.localSeq + 301)
        #expect(s.connection.statistics.unacceptableSegments == 1)
    }

    @Test func establishedTrimsOverlappingRetransmission() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2, 3])
        s.send(seq: r + 2, ack: s.localSeq + 1, payload: [2, 3, 4, 5])
        #expect(s.read() == [1, 2, 3, 4, 5])
    }

    @Test func establishedDoesNotAcceptBeyondReceiveBuffer() throws {
        var options = ScriptedConnection.plainOptions()
        options.receiveBufferSize = 100
        let s = try ScriptedConnection.established(options: options)
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 150))
        #expect(s.connection.bytesReadable == 100)
        let ack = s.recvOne()
        #expect(ack?.ack == r + 101)
        #expect(ack?.repr.window == 0)
    }

    @Test func establishedAnnouncesWindowUpdateAfterRead() throws {
        var options = ScriptedConnection.plainOptions()
        options.receiveBufferSize = 4000
        let s = try ScriptedConnection.established(options: options, synOptions: TCPOptions(maximumSegmentSize: 1000))
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 4000))
        #expect(s.recvOne()?.repr.window == 0)
        #expect(s.read().count == 4000)
        let update = s.recvOne()
        #expect(update?.repr.window == 4000)
    }

    @Test func establishedRespectsPeerWindow() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 100)
        _ = try s.write([UInt8](repeating: 1, count: 300))
        let out = s.recv()
        #expect(out.map(\.payload.count).reduce(0, +) == 100)
    }

    @Test func establishedSegmentsAtMSS() throws {
        let s = try ScriptedConnection.established(synOptions: TCPOptions(maximumSegmentSize: 500))
        _ = try s.write([UInt8](repeating: 1, count: 1200))
        #expect(s.recv().map(\.payload.count) == [500, 500])
        s.send(seq: r + 1, ack: s.localSeq + 1001)
        #expect(s.recv().map(\.payload.count) == [200])  // Nagle held the runt until the ACK
    }

    @Test func establishedNagleHoldsSmallSegmentWhileDataInFlight() throws {
        let s = try ScriptedConnection.established()
        _ = try s.write([1])
        #expect(s.recvOne()?.payload == [1])
        _ = try s.write([2])
        s.expectNothing()  // Nagle: wait for the ACK
        s.send(seq: r + 1, ack: s.localSeq + 2)
        #expect(s.recvOne()?.payload == [2])
    }

    @Test func establishedNoDelaySendsSmallSegmentsAtOnce() throws {
        var options = ScriptedConnection.plainOptions()
        options.noDelay = true
        let s = try ScriptedConnection.established(options: options)
        _ = try s.write([1])
        #expect(s.recvOne()?.payload == [1])
        _ = try s.write([2])
        #expect(s.recvOne()?.payload == [2])
    }

    @Test func establishedAbortSendsRST() throws {
        let s = try ScriptedConnection.established()
        s.connection.abort()
        #expect(s.state == .closed)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst, .ack])
        #expect(rst?.seq == s.localSeq + 1)
    }

    @Test func establishedCloseWithUnreadDataSendsRST() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2])
        s.connection.close(now: s.now)
        #expect(s.state == .closed)
        #expect(s.recv().contains { $0.flags.contains(.rst) })
    }

    @Test func establishedCloseSendsFINAfterQueuedData() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 3)
        _ = try s.write([1, 2, 3, 4, 5])
        #expect(s.recvOne()?.payload == [1, 2, 3])
        try s.connection.shutdownWrite()
        s.expectNothing()  // window full: neither data nor FIN yet
        s.send(seq: r + 1, ack: s.localSeq + 4, window: 100)
        let last = s.recvOne()
        #expect(last?.payload == [4, 5])
        #expect(last?.flags == [.ack, .fin, .psh])
        #expect(s.state == .finWait1)
    }

    @Test func establishedSendAfterShutdownFails() throws {
        let s = try ScriptedConnection.established()
        try s.connection.shutdownWrite()
        #expect(throws: TCPCallError.invalidState(.finWait1)) { _ = try s.write([1]) }
    }

    @Test func establishedReceiveAfterResetReportsError() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, flags: .rst)
        var byte: UInt8 = 0
        #expect(throws: TCPReceiveError.failed(.connectionReset)) {
            _ = try withUnsafeMutableBytes(of: &byte) { (buffer) throws(TCPReceiveError) -> Int in try s.connection.receive(into: buffer) }
        }
        #expect(throws: TCPCallError.failed(.connectionReset)) { _ = try s.write([1]) }
    }

    @Test func establishedDuplicateSegmentIsReACKed() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2])
        s.advance(.milliseconds(40))
        _ = s.recv()
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1, 2])
        #expect(s.recvOne()?.ack == r + 3)
        #expect(s.read() == [1, 2])
    }

    @Test func establishedIgnoresSegmentWithoutACK() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, payload: [1])
        #expect(s.read().isEmpty)
        s.expectNothing()
    }

    @Test func establishedWindowUpdateFromOlderSegmentIgnored() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 5000, payload: [1])
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 10)  // older than the last update (wl1)
        #expect(s.connection.sendWindow == 5000)
    }
}
