import Testing
import Wire
@testable import TCP

typealias Seq = TCPSequenceNumber

@Suite struct ClosedAndListenTests {
    @Test func closedRepliesRSTACKToSYN() {
        let s = ScriptedConnection()
        s.send(seq: Seq(500), flags: .syn)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst, .ack])
        #expect(rst?.repr.sequenceNumber == 0)
        #expect(rst?.ack == Seq(501))
    }

    @Test func closedRepliesRSTWithSequenceFromACK() {
        let s = ScriptedConnection()
        s.send(seq: Seq(500), ack: Seq(7777), payload: [1, 2, 3])
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst])
        #expect(rst?.seq == Seq(7777))
    }

    @Test func closedIgnoresRST() {
        let s = ScriptedConnection()
        s.send(seq: Seq(500), flags: .rst)
        s.expectNothing()
    }

    @Test func closedRejectsSendAndReceive() {
        let s = ScriptedConnection()
        #expect(throws: TCPCallError.invalidState(.closed)) { _ = try s.write([1]) }
        var byte: UInt8 = 0
        #expect(throws: TCPReceiveError.notConnected) {
            _ = try withUnsafeMutableBytes(of: &byte) { (buffer) throws(TCPReceiveError) -> Int in try s.connection.receive(into: buffer) }
        }
    }

    @Test func listenReceivesSYNSendsSYNACK() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: ScriptedConnection.remoteSeq, flags: .syn, options: TCPOptions(maximumSegmentSize: 1400))
        #expect(s.state == .synReceived)
        let synAck = s.recvOne()
        #expect(synAck?.flags == [.syn, .ack])
        #expect(synAck?.seq == s.localSeq)
        #expect(synAck?.ack == ScriptedConnection.remoteSeq + 1)
        #expect(synAck?.repr.options.maximumSegmentSize == 1460)
        #expect(s.connection.tuple.remote == ScriptedConnection.remote)
        #expect(s.connection.peerMSS == 1400)
    }

    @Test func listenIgnoresRST() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: Seq(1), flags: .rst)
        #expect(s.state == .listen)
        s.expectNothing()
    }

    @Test func listenRepliesRSTToACK() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: Seq(1), ack: Seq(99))
        #expect(s.state == .listen)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst])
        #expect(rst?.seq == Seq(99))
    }

    @Test func listenIgnoresSegmentWithoutSYN() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: Seq(1), payload: [1, 2])
        #expect(s.state == .listen)
        s.expectNothing()
    }

    @Test func listenCloseGoesClosed() throws {
        let s = try ScriptedConnection.listening()
        s.connection.close(now: s.now)
        #expect(s.state == .closed)
        #expect(s.connection.takeEvents().contains(.closed))
        s.expectNothing()
    }

    @Test func establishedIgnoresSegmentsOfOtherTuples() throws {
        let s = try ScriptedConnection.established()
        var wrongPort = s.segment(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1, flags: .rst)
        wrongPort.sourcePort = 1
        let taken = [UInt8]().withUnsafeBytes {
            s.connection.handle(segment: wrongPort, payload: $0, source: ScriptedConnection.remote.address,
                                destination: ScriptedConnection.local.address, now: s.now)
        }
        #expect(!taken)
        let wrongAddress = [UInt8]().withUnsafeBytes {
            s.connection.handle(segment: s.segment(seq: ScriptedConnection.remoteSeq + 1, flags: .rst), payload: $0,
                                source: IPv6Address(ipv4Mapped: IPv4Address(1, 1, 1, 1)), destination: ScriptedConnection.local.address, now: s.now)
        }
        #expect(!wrongAddress)
        #expect(s.state == .established)
    }

    @Test func listenIgnoresSYNForAnotherPort() throws {
        let s = try ScriptedConnection.listening()
        var syn = s.segment(seq: ScriptedConnection.remoteSeq, flags: .syn)
        syn.destinationPort = 81
        s.send(syn)
        #expect(s.state == .listen)
        s.expectNothing()
    }

    @Test func listenSYNWithoutMSSAssumes536() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: ScriptedConnection.remoteSeq, flags: .syn)
        #expect(s.connection.sendMSS == 536)
    }

    @Test func listenClampsLargePeerMSSToOurMTU() throws {
        let s = try ScriptedConnection.listening()
        s.send(seq: ScriptedConnection.remoteSeq, flags: .syn, options: TCPOptions(maximumSegmentSize: 9000))
        #expect(s.connection.sendMSS == 1460)
    }
}

@Suite struct SynSentTests {
    @Test func synSentSendsSYNWithOurOptions() throws {
        let s = ScriptedConnection(options: TCPConnectionOptions())
        try s.connection.connect(to: ScriptedConnection.remote, now: s.now)
        let syn = s.recvOne()
        #expect(syn?.flags == [.syn])
        #expect(syn?.repr.options.maximumSegmentSize == 1460)
        #expect(syn?.repr.options.windowScale == 7)  // covers the 4 MiB the ring may grow to
        #expect(syn?.repr.options.sackPermitted == true)
        #expect(syn?.repr.options.timestamp != nil)
    }

    @Test func synSentReceivesSYNACKEstablishes() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, ack: s.localSeq + 1, flags: .syn, options: TCPOptions(maximumSegmentSize: 1000))
        #expect(s.state == .established)
        let ack = s.recvOne()
        #expect(ack?.flags == [.ack])
        #expect(ack?.seq == s.localSeq + 1)
        #expect(ack?.ack == ScriptedConnection.remoteSeq + 1)
        #expect(s.connection.takeEvents().contains(.connected))
        #expect(s.connection.sendMSS == 1000)
    }

    @Test func synSentReceivesRSTWithBadACK() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: Seq(0), ack: s.localSeq + 1234, flags: .rst)
        #expect(s.state == .synSent)
        s.expectNothing()
    }

    @Test func synSentReceivesRSTWithGoodACKIsRefused() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: Seq(0), ack: s.localSeq + 1, flags: .rst)
        #expect(s.state == .closed)
        #expect(s.connection.error == .connectionRefused)
        #expect(s.connection.takeEvents().contains(.closed))
        s.expectNothing()
    }

    @Test func synSentIgnoresRSTWithoutACK() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: Seq(0), flags: .rst)
        #expect(s.state == .synSent)
        s.expectNothing()
    }

    @Test func synSentReceivesBadACKRepliesRST() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, ack: s.localSeq + 5, flags: .syn)
        #expect(s.state == .synSent)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst])
        #expect(rst?.seq == s.localSeq + 5)
    }

    @Test func synSentReceivesACKForISSRepliesRST() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, ack: s.localSeq)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst])
        #expect(s.state == .synSent)
    }

    @Test func synSentReceivesSYNIsSimultaneousOpen() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, flags: .syn)
        #expect(s.state == .synReceived)
        let synAck = s.recvOne()
        #expect(synAck?.flags == [.syn, .ack])
        #expect(synAck?.seq == s.localSeq)
        #expect(synAck?.ack == ScriptedConnection.remoteSeq + 1)
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1)
        #expect(s.state == .established)
    }

    @Test func synSentIgnoresPlainSegment() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, payload: [1])
        #expect(s.state == .synSent)
        s.expectNothing()
    }

    @Test func synSentRetransmitsSYNWithBackoff() throws {
        let s = try ScriptedConnection.synSent()
        s.advance(.milliseconds(999))
        s.expectNothing()
        s.advance(.milliseconds(1))
        #expect(s.recvOne()?.flags == [.syn])
        s.advance(.milliseconds(1999))
        s.expectNothing()
        s.advance(.milliseconds(1))
        #expect(s.recvOne()?.flags == [.syn])
    }

    @Test func synSentTimesOutAfterSYNRetries() throws {
        var configuration = TCPConfiguration()
        configuration.maximumSYNRetransmissions = 2
        let s = try ScriptedConnection.synSent(configuration: configuration)
        s.advance(.seconds(1)); _ = s.recv()
        s.advance(.seconds(2)); _ = s.recv()
        s.advance(.seconds(4))
        #expect(s.state == .closed)
        #expect(s.connection.error == .timedOut)
    }

    @Test func synSentCloseGoesClosedSilently() throws {
        let s = try ScriptedConnection.synSent()
        s.connection.close(now: s.now)
        #expect(s.state == .closed)
        s.expectNothing()
    }

    @Test func synSentQueuedDataGoesOutAfterHandshake() throws {
        let s = try ScriptedConnection.synSent()
        #expect(try s.write([1, 2, 3]) == 3)
        s.expectNothing()
        s.send(seq: ScriptedConnection.remoteSeq, ack: s.localSeq + 1, flags: .syn)
        let out = s.recvOne()
        #expect(out?.payload == [1, 2, 3])
        #expect(out?.seq == s.localSeq + 1)
    }

    @Test func synSentReceivesSYNACKWithDataAndFIN() throws {
        let s = try ScriptedConnection.synSent()
        s.send(seq: ScriptedConnection.remoteSeq, ack: s.localSeq + 1, flags: [.syn, .fin], payload: [9, 8])
        #expect(s.state == .closeWait)
        #expect(s.read() == [9, 8])
        let ack = s.recvOne()
        #expect(ack?.ack == ScriptedConnection.remoteSeq + 4)
    }
}

@Suite struct SynReceivedTests {
    @Test func synReceivedReceivesACKEstablishes() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1)
        #expect(s.state == .established)
        #expect(s.connection.takeEvents().contains(.connected))
        s.expectNothing()
    }

    @Test func synReceivedReceivesRSTReturnsQuietly() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 1, flags: .rst)
        #expect(s.state == .closed)
        #expect(s.connection.error == nil)
        s.expectNothing()
    }

    @Test func synReceivedReceivesBadACKRepliesRST() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 10)
        #expect(s.state == .synReceived)
        let rst = s.recvOne()
        #expect(rst?.flags == [.rst])
        #expect(rst?.seq == s.localSeq + 10)
    }

    @Test func synReceivedRetransmitsSYNACKOnDuplicateSYN() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq, flags: .syn)
        let again = s.recvOne()
        #expect(again?.flags == [.syn, .ack])
        #expect(again?.seq == s.localSeq)
    }

    @Test func synReceivedRetransmitsSYNACKOnTimeout() throws {
        let s = try ScriptedConnection.synReceived()
        s.advance(.seconds(1))
        #expect(s.recvOne()?.flags == [.syn, .ack])
    }

    @Test func synReceivedGivesUpQuietlyAfterRetries() throws {
        var configuration = TCPConfiguration()
        configuration.maximumSYNRetransmissions = 1
        let s = try ScriptedConnection.synReceived(configuration: configuration)
        s.advance(.seconds(1)); _ = s.recv()
        s.advance(.seconds(2))
        #expect(s.state == .closed)
        #expect(s.connection.error == nil)
    }

    @Test func synReceivedReceivesACKWithFINGoesCloseWait() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1, flags: .fin)
        #expect(s.state == .closeWait)
        #expect(s.recvOne()?.ack == ScriptedConnection.remoteSeq + 2)
    }

    @Test func synReceivedReceivesDataWithACK() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1, payload: Array("hello".utf8))
        #expect(s.state == .established)
        #expect(s.read() == Array("hello".utf8))
    }

    @Test func synReceivedCloseSendsFINOnceEstablished() throws {
        let s = try ScriptedConnection.synReceived()
        s.connection.close(now: s.now)
        s.expectNothing()
        s.send(seq: ScriptedConnection.remoteSeq + 1, ack: s.localSeq + 1)
        #expect(s.state == .finWait1)
        #expect(s.recvOne()?.flags == [.fin, .ack])
    }

    @Test func synReceivedSegmentOutsideWindowGetsACK() throws {
        let s = try ScriptedConnection.synReceived()
        s.send(seq: ScriptedConnection.remoteSeq + 100_000, ack: s.localSeq + 1, payload: [1])
        #expect(s.state == .synReceived)
        let ack = s.recvOne()
        #expect(ack?.flags == [.ack])
        #expect(ack?.ack == ScriptedConnection.remoteSeq + 1)
    }
}
