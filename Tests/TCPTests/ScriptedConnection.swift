import Testing
import Wire
@testable import TCP

/// A connection under test, driven segment by segment like smoltcp's tcp.rs
/// tests: we play the remote end by hand and check every segment it sends.
/// Options (window scale, timestamps, SACK) are off unless a test turns them
/// on, so sequence and window numbers stay readable.
final class ScriptedConnection {
    static let local = TCPEndpoint(address: IPv4Address(192, 168, 1, 1), port: 80)
    static let remote = TCPEndpoint(address: IPv4Address(192, 168, 1, 2), port: 49500)
    static let remoteSeq = TCPSequenceNumber(10_000)

    let connection: TCPConnection
    var now = TCPInstant.milliseconds(10_000)

    static func plainOptions() -> TCPConnectionOptions {
        var options = TCPConnectionOptions()
        options.windowScaling = false
        options.timestamps = false
        options.selectiveAcknowledgments = false
        options.sendBufferSize = 64 * 1024
        options.receiveBufferSize = 64 * 1024
        return options
    }

    init(options: TCPConnectionOptions = ScriptedConnection.plainOptions(),
         configuration: TCPConfiguration = TCPConfiguration()) {
        connection = TCPConnection(configuration: configuration, options: options, local: Self.local,
                                   secrets: TCPInitialSequenceNumbers(key: SipHashKey(k0: 42, k1: 43)))
    }

    var localSeq: TCPSequenceNumber { connection.initialSendSequence }
    var state: TCPState { connection.state }

    /// A segment from the remote end.
    func segment(seq: TCPSequenceNumber, ack: TCPSequenceNumber? = nil, flags: TCPFlags = [],
                 window: UInt16 = 64_000, options: TCPOptions = TCPOptions()) -> TCPRepr {
        var allFlags = flags
        if ack != nil { allFlags.insert(.ack) }
        return TCPRepr(sourcePort: Self.remote.port, destinationPort: Self.local.port,
                       sequenceNumber: seq.rawValue, acknowledgmentNumber: ack?.rawValue ?? 0,
                       flags: allFlags, window: window, options: options)
    }

    func send(_ repr: TCPRepr, payload: [UInt8] = []) {
        payload.withUnsafeBytes {
            connection.handle(segment: repr, payload: $0, source: Self.remote.address,
                              destination: Self.local.address, now: now)
        }
    }

    func send(seq: TCPSequenceNumber, ack: TCPSequenceNumber? = nil, flags: TCPFlags = [], window: UInt16 = 64_000,
              options: TCPOptions = TCPOptions(), payload: [UInt8] = []) {
        send(segment(seq: seq, ack: ack, flags: flags, window: window, options: options), payload: payload)
    }

    /// Everything the connection sends now.
    func recv() -> [WireSegment] { connection.drain(now: now) }

    /// Exactly one segment, or a failed expectation.
    func recvOne(sourceLocation: SourceLocation = #_sourceLocation) -> WireSegment? {
        let out = recv()
        #expect(out.count == 1, "expected one segment, got \(out.map { "\($0.repr.flags) seq \($0.repr.sequenceNumber) ack \($0.repr.acknowledgmentNumber) len \($0.payload.count)" })", sourceLocation: sourceLocation)
        return out.first
    }

    func expectNothing(sourceLocation: SourceLocation = #_sourceLocation) {
        let out = recv()
        #expect(out.isEmpty, "expected silence, got \(out.map { "\($0.repr.flags) seq \($0.repr.sequenceNumber) ack \($0.repr.acknowledgmentNumber) len \($0.payload.count)" })", sourceLocation: sourceLocation)
    }

    func advance(_ duration: TCPDuration) {
        now = now + duration
        connection.poll(now: now)
    }

    func write(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { (buffer) throws(TCPCallError) -> Int in try connection.send(buffer) }
    }

    func read(max: Int = 1 << 20) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { (try? connection.receive(into: $0)) ?? 0 }
        return Array(buffer[0..<count])
    }

    // MARK: Reaching each state

    static func listening(options: TCPConnectionOptions = plainOptions(),
                          configuration: TCPConfiguration = TCPConfiguration()) throws -> ScriptedConnection {
        let script = ScriptedConnection(options: options, configuration: configuration)
        try script.connection.listen()
        return script
    }

    static func synReceived(options: TCPConnectionOptions = plainOptions(), synOptions: TCPOptions = TCPOptions(),
                            configuration: TCPConfiguration = TCPConfiguration()) throws -> ScriptedConnection {
        let script = try listening(options: options, configuration: configuration)
        script.send(seq: remoteSeq, flags: .syn, options: synOptions)
        let synAck = script.recvOne()
        #expect(synAck?.repr.flags == [.syn, .ack])
        return script
    }

    static func synSent(options: TCPConnectionOptions = plainOptions(),
                        configuration: TCPConfiguration = TCPConfiguration()) throws -> ScriptedConnection {
        let script = ScriptedConnection(options: options, configuration: configuration)
        try script.connection.connect(to: remote, now: script.now)
        let syn = script.recvOne()
        #expect(syn?.repr.flags == [.syn])
        return script
    }

    static func established(options: TCPConnectionOptions = plainOptions(), synOptions: TCPOptions = TCPOptions(),
                            configuration: TCPConfiguration = TCPConfiguration()) throws -> ScriptedConnection {
        let script = try synReceived(options: options, synOptions: synOptions, configuration: configuration)
        var ackOptions = TCPOptions()
        if let stamp = synOptions.timestamp { ackOptions.timestamp = (stamp.value &+ 1, script.connection.timestampClock(script.now)) }
        script.send(seq: remoteSeq + 1, ack: script.localSeq + 1, options: ackOptions)
        #expect(script.state == .established)
        _ = script.connection.takeEvents()
        return script
    }

    static func finWait1() throws -> ScriptedConnection {
        let script = try established()
        script.connection.close(now: script.now)
        let fin = script.recvOne()
        #expect(fin?.repr.flags == [.fin, .ack])
        #expect(script.state == .finWait1)
        return script
    }

    static func finWait2() throws -> ScriptedConnection {
        let script = try finWait1()
        script.send(seq: remoteSeq + 1, ack: script.localSeq + 2)
        #expect(script.state == .finWait2)
        return script
    }

    static func closing() throws -> ScriptedConnection {
        let script = try finWait1()
        script.send(seq: remoteSeq + 1, ack: script.localSeq + 1, flags: .fin)
        #expect(script.state == .closing)
        let ack = script.recvOne()
        #expect(ack?.repr.acknowledgmentNumber == (remoteSeq + 2).rawValue)
        return script
    }

    static func timeWait() throws -> ScriptedConnection {
        let script = try finWait2()
        script.send(seq: remoteSeq + 1, ack: script.localSeq + 2, flags: .fin)
        #expect(script.state == .timeWait)
        let ack = script.recvOne()
        #expect(ack?.repr.acknowledgmentNumber == (remoteSeq + 2).rawValue)
        return script
    }

    static func closeWait() throws -> ScriptedConnection {
        let script = try established()
        script.send(seq: remoteSeq + 1, ack: script.localSeq + 1, flags: .fin)
        #expect(script.state == .closeWait)
        let ack = script.recvOne()
        #expect(ack?.repr.acknowledgmentNumber == (remoteSeq + 2).rawValue)
        return script
    }

    static func lastAck() throws -> ScriptedConnection {
        let script = try closeWait()
        script.connection.close(now: script.now)
        let fin = script.recvOne()
        #expect(fin?.repr.flags == [.fin, .ack])
        #expect(script.state == .lastAck)
        return script
    }
}

extension WireSegment {
    var seq: TCPSequenceNumber { TCPSequenceNumber(repr.sequenceNumber) }
    var ack: TCPSequenceNumber { TCPSequenceNumber(repr.acknowledgmentNumber) }
    var flags: TCPFlags { repr.flags }
}
