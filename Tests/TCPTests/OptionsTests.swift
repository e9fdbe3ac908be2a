import Testing
import Wire
@testable import TCP

@Suite struct OptionsTests {
    let r = ScriptedConnection.remoteSeq

    static func allOptions(buffer: Int = 256 * 1024) -> TCPConnectionOptions {
        var options = TCPConnectionOptions()
        options.sendBufferSize = buffer
        options.receiveBufferSize = buffer
        // Sizes the application set (SO_SNDBUF / SO_RCVBUF) are kept.
        options.sendBufferGrows = false
        options.receiveBufferGrows = false
        return options
    }

    @Test func listenAnswersOnlyOfferedOptions() throws {
        let s = try ScriptedConnection.listening(options: Self.allOptions())
        s.send(seq: r, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460))
        let synAck = s.recvOne()
        #expect(synAck?.repr.options.windowScale == nil)
        #expect(synAck?.repr.options.sackPermitted == false)
        #expect(synAck?.repr.options.timestamp == nil)
        #expect(!s.connection.windowScalingEnabled && !s.connection.timestampsEnabled && !s.connection.sackEnabled)
    }

    @Test func windowScaleNegotiatedBothWays() throws {
        let s = try ScriptedConnection.listening(options: Self.allOptions(buffer: 1 << 20))
        s.send(seq: r, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460, windowScale: 7))
        let synAck = s.recvOne()
        #expect(synAck?.repr.options.windowScale == 5)  // 1 MiB >> 5 fits 16 bits
        #expect(synAck?.repr.window == 65535)  // never scaled on a SYN
        s.send(seq: r + 1, ack: s.localSeq + 1, window: 100)
        #expect(s.connection.sendWindow == 100 << 7)
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1])
        s.advance(.milliseconds(40))
        let ack = s.recvOne()
        #expect(ack?.repr.window == UInt16((1 << 20) >> 5) - 1 || ack?.repr.window == UInt16(((1 << 20) - 1) >> 5))
    }

    @Test func windowScaleOfferedButNotAnsweredIsOff() throws {
        let s = try ScriptedConnection.synSent(options: Self.allOptions())
        s.send(seq: r, ack: s.localSeq + 1, flags: .syn, window: 1000)
        #expect(!s.connection.windowScalingEnabled)
        #expect(s.connection.sendWindow == 1000)
    }

    @Test func timestampsEchoedAndUsedForRTT() throws {
        let s = try ScriptedConnection.synSent(options: Self.allOptions())
        let ourStamp = s.connection.timestampClock(s.now)
        s.advance(.milliseconds(30))
        s.send(seq: r, ack: s.localSeq + 1, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460, timestamp: (5000, ourStamp)))
        #expect(s.connection.timestampsEnabled)
        let ack = s.recvOne()
        #expect(ack?.repr.options.timestamp?.echoReply == 5000)
        _ = try s.write([1])
        let data = s.recvOne()
        let sent = try #require(data?.repr.options.timestamp?.value)
        s.advance(.milliseconds(50))
        s.send(seq: r + 1, ack: s.localSeq + 2, options: TCPOptions(timestamp: (5001, sent)))
        let srtt = try #require(s.connection.smoothedRTT)
        #expect(srtt >= TCPDuration.milliseconds(30))
    }

    @Test func pawsDropsSegmentWithOldTimestamp() throws {
        let s = try ScriptedConnection.established(options: Self.allOptions(),
                                                   synOptions: TCPOptions(maximumSegmentSize: 1460, timestamp: (1000, 0)))
        s.send(seq: r + 1, ack: s.localSeq + 1, options: TCPOptions(timestamp: (2000, 0)), payload: [1])
        #expect(s.read() == [1])
        s.send(seq: r + 2, ack: s.localSeq + 1, options: TCPOptions(timestamp: (1500, 0)), payload: [2])
        #expect(s.read().isEmpty)
        #expect(s.connection.statistics.pawsDrops == 1)
        #expect(s.recv().last?.ack == r + 2)  // answered with an ACK
    }

    @Test func pawsDoesNotApplyToRST() throws {
        let s = try ScriptedConnection.established(options: Self.allOptions(),
                                                   synOptions: TCPOptions(maximumSegmentSize: 1460, timestamp: (1000, 0)))
        s.send(seq: r + 1, flags: .rst, options: TCPOptions(timestamp: (1, 0)))
        #expect(s.state == .closed)
    }

    @Test func timestampRecentFollowsInOrderSegments() throws {
        let s = try ScriptedConnection.established(options: Self.allOptions(),
                                                   synOptions: TCPOptions(maximumSegmentSize: 1460, timestamp: (1000, 0)))
        s.send(seq: r + 1, ack: s.localSeq + 1, options: TCPOptions(timestamp: (3000, 0)), payload: [1])
        s.advance(.milliseconds(40))
        #expect(s.recvOne()?.repr.options.timestamp?.echoReply == 3000)
    }

    @Test func sackPermittedNegotiated() throws {
        let s = try ScriptedConnection.synSent(options: Self.allOptions())
        s.send(seq: r, ack: s.localSeq + 1, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460, sackPermitted: true))
        #expect(s.connection.sackEnabled)
    }

    @Test func mssAccountsForTimestampOption() throws {
        let s = try ScriptedConnection.synSent(options: Self.allOptions())
        s.send(seq: r, ack: s.localSeq + 1, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460, timestamp: (1, 1)))
        #expect(s.connection.sendMSS == 1448)
        _ = s.recv()
        _ = try s.write([UInt8](repeating: 0, count: 3000))
        #expect(s.recv().map(\.payload.count).first == 1448)
    }

    @Test func mssClampedToConfiguredMTU() throws {
        var configuration = TCPConfiguration()
        configuration.mtu = 1000
        let s = try ScriptedConnection.listening(configuration: configuration)
        s.send(seq: r, flags: .syn, options: TCPOptions(maximumSegmentSize: 1460))
        #expect(s.recvOne()?.repr.options.maximumSegmentSize == 960)
        #expect(s.connection.sendMSS == 960)
    }
}

@Suite struct DefenceTests {
    let r = ScriptedConnection.remoteSeq

    @Test func outOfOrderRangesAreBounded() throws {
        var configuration = TCPConfiguration()
        configuration.maximumOutOfOrderRanges = 3
        let s = try ScriptedConnection.established(configuration: configuration)
        for index in 0..<6 { s.send(seq: r + 1 + 10 * (index + 1), ack: s.localSeq + 1, payload: [1]) }
        #expect(s.connection.reassembly.ranges.count == 3)
        #expect(s.connection.statistics.outOfOrderDrops == 3)
    }

    @Test func outOfOrderDataNeverExceedsReceiveBuffer() throws {
        var options = ScriptedConnection.plainOptions()
        options.receiveBufferSize = 1000
        let s = try ScriptedConnection.established(options: options)
        s.send(seq: r + 900, ack: s.localSeq + 1, payload: [UInt8](repeating: 1, count: 500))
        let held = s.connection.reassembly.ranges.first.map { $0.end - $0.start } ?? 0
        #expect(held <= 101)
        s.send(seq: r + 5000, ack: s.localSeq + 1, payload: [1])  // beyond the window: refused
        #expect(s.connection.reassembly.ranges.count == 1)
    }

    @Test func sendBufferBoundsQueuedData() throws {
        var options = ScriptedConnection.plainOptions()
        options.sendBufferSize = 1000
        options.sendBufferGrows = false  // the size the application set (SO_SNDBUF) is kept
        let s = try ScriptedConnection.established(options: options)
        #expect(try s.write([UInt8](repeating: 1, count: 5000)) == 1000)
        #expect(try s.write([1]) == 0)
        #expect(s.connection.sendSpace == 0)
    }

    @Test func blindDataInjectionOutsideWindowIsDropped() throws {
        let s = try ScriptedConnection.established()
        s.send(seq: r + 1 + 1_000_000, ack: s.localSeq + 1, payload: [6, 6, 6])
        s.send(seq: r + 1, ack: s.localSeq + 1, payload: [1])
        #expect(s.read() == [1])
    }
}
