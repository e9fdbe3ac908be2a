import Testing
import Wire
@testable import TCP

/// Robustness: random segments, calls and ticks in every state must never
/// trap, and the connection's invariants must hold throughout.
@Suite struct RandomSegmentTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    static func start(_ index: Int) throws -> ScriptedConnection {
        switch index {
        case 0: try ScriptedConnection.listening()
        case 1: try ScriptedConnection.synSent(options: TCPConnectionOptions())
        case 2: try ScriptedConnection.synReceived()
        case 3: try ScriptedConnection.established()
        case 4: try ScriptedConnection.finWait1()
        case 5: try ScriptedConnection.finWait2()
        case 6: try ScriptedConnection.closeWait()
        case 7: try ScriptedConnection.closing()
        case 8: try ScriptedConnection.lastAck()
        default: try ScriptedConnection.timeWait()
        }
    }

    @Test(arguments: 0..<10)
    func randomInputNeverBreaksInvariants(start: Int) throws {
        var s = try Self.start(start)
        var random = Generator(state: 0x9E37_79B9_7F4A_7C15 &+ UInt64(start))
        var restarts = 0
        let r = ScriptedConnection.remoteSeq
        for _ in 0..<3000 {
            if s.state == .closed {
                restarts += 1
                s = try Self.start(start)
            }
            let c = s.connection
            let near = Bool.random(using: &random)
            let seq = near ? r + Int.random(in: -3000...70_000, using: &random) : TCPSequenceNumber(UInt32.random(in: 0...UInt32.max, using: &random))
            let ack = near ? c.sendUnacknowledged + Int.random(in: -3000...3000, using: &random) : TCPSequenceNumber(UInt32.random(in: 0...UInt32.max, using: &random))
            var options = TCPOptions()
            if Bool.random(using: &random) { options.timestamp = (UInt32.random(in: 0...UInt32.max, using: &random), UInt32.random(in: 0...UInt32.max, using: &random)) }
            if Int.random(in: 0..<4, using: &random) == 0 {
                var blocks = TCPSACKBlocks()
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let left = c.sendUnacknowledged + Int.random(in: -5000...70_000, using: &random)
                    blocks.append(TCPSACKBlock(left: left.rawValue, right: (left + Int.random(in: -100...5000, using: &random)).rawValue))
                }
                options.sackBlocks = blocks
            }
            if Int.random(in: 0..<10, using: &random) == 0 {
                options.maximumSegmentSize = UInt16.random(in: 0...UInt16.max, using: &random)
                options.windowScale = UInt8.random(in: 0...255, using: &random)
            }
            var flags = TCPFlags(rawValue: UInt8.random(in: 0...255, using: &random))
            // RST and SYN rarely, or every connection ends at once.
            if Int.random(in: 0..<40, using: &random) != 0 { flags.remove(.rst) }
            if Int.random(in: 0..<10, using: &random) != 0 { flags.remove(.syn) }
            let payload = [UInt8](repeating: 0xAB, count: Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: 0...3000, using: &random) : 0)
            s.send(TCPRepr(sourcePort: ScriptedConnection.remote.port, destinationPort: ScriptedConnection.local.port,
                           sequenceNumber: seq.rawValue, acknowledgmentNumber: ack.rawValue, flags: flags,
                           window: UInt16.random(in: 0...UInt16.max, using: &random), options: options), payload: payload)
            switch Int.random(in: 0..<12, using: &random) {
            case 0: _ = try? s.write([UInt8](repeating: 1, count: Int.random(in: 0...5000, using: &random)))
            case 1: _ = s.read(max: Int.random(in: 1...5000, using: &random))
            case 2: s.advance(.milliseconds(UInt64.random(in: 0...3000, using: &random)))
            case 3: if Int.random(in: 0..<20, using: &random) == 0 { try? c.shutdownWrite() }
            default: break
            }
            let out = s.recv()
            // Invariants.
            #expect(c.receiveBuffer.count <= c.receiveBuffer.capacity)
            #expect(c.sendBuffer.count <= c.sendBuffer.capacity)
            #expect(c.reassembly.ranges.count <= c.configuration.maximumOutOfOrderRanges)
            #expect(c.scoreboard.ranges.count <= c.configuration.maximumSACKScoreboardRanges)
            #expect(!(c.sendNext < c.sendUnacknowledged) || c.state == .closed || c.state == .listen)
            #expect(!(c.sendMax < c.sendNext))
            for segment in out {
                #expect(segment.payload.count <= c.segmentBudget)
                #expect(segment.repr.flags.contains(.ack) || segment.repr.flags.contains(.syn) || segment.repr.flags.contains(.rst))
            }
            if out.count > 5000 { Issue.record("output storm: \(out.count) segments"); break }
        }
        #expect(restarts < 3000)
        print("random start \(start): \(restarts) restarts, final state \(s.state), \(s.connection.statistics.segmentsReceived) segments in the last incarnation")
    }
}

extension RandomSegmentTests {
    @Test func randomSegmentsAtATableNeverBreakIt() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 3, k1: 3))
        let local = TCPEndpoint(address: TablePair.addressB, port: 80)
        let listener = try table.listen(on: local, backlog: 16, synBacklog: 8)
        var random = Generator(state: 12345)
        var now = TCPInstant.milliseconds(1000)
        var accepted: [TCPConnectionID] = []
        var lastSYNACK: [UInt16: UInt32] = [:]
        for _ in 0..<20_000 {
            let port = UInt16.random(in: 40000...40040, using: &random)
            var flags = TCPFlags(rawValue: UInt8.random(in: 0...255, using: &random))
            if Int.random(in: 0..<20, using: &random) != 0 { flags.remove(.rst) }
            // Often answer our own SYN-ACK correctly, so connections do form.
            var ack = UInt32.random(in: 0...UInt32.max, using: &random)
            if let isn = lastSYNACK[port], Bool.random(using: &random) { ack = isn &+ 1 }
            let repr = TCPRepr(sourcePort: port, destinationPort: Bool.random(using: &random) ? 80 : UInt16.random(in: 1...100, using: &random),
                               sequenceNumber: UInt32(port) * 1000 + UInt32.random(in: 0...3, using: &random), acknowledgmentNumber: ack,
                               flags: flags, window: UInt16.random(in: 0...UInt16.max, using: &random),
                               options: Bool.random(using: &random) ? TCPOptions(maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true, timestamp: (1, 0)) : TCPOptions())
            let payload = [UInt8](repeating: 7, count: Int.random(in: 0..<3, using: &random) == 0 ? Int.random(in: 1...1500, using: &random) : 0)
            payload.withUnsafeBytes {
                table.handle(segment: repr, payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: now)
            }
            while let out = table.nextSegment(now: now) {
                if out.repr.flags == [.syn, .ack] { lastSYNACK[out.repr.destinationPort] = out.repr.sequenceNumber }
                #expect(out.payloadLength <= 1460)
            }
            while table.nextEvent() != nil {}
            while let child = table.accept(listener) { accepted.append(child) }
            if Int.random(in: 0..<50, using: &random) == 0, let victim = accepted.popLast() { table.release(victim, now: now) }
            if Int.random(in: 0..<10, using: &random) == 0 {
                now = now + .milliseconds(UInt64.random(in: 0...5000, using: &random))
                table.poll(now: now)
            }
            #expect(table.acceptQueueLength(listener) <= 16)
            #expect(table.connectionCount <= 8 + 16 + accepted.count + 64)
        }
        #expect(table.statistics.segmentsReceived == 20_000)
        #expect(table.statistics.connectionsAccepted > 0)  // the random peers did get connections made
        print("table fuzz: \(table.statistics)")
    }
}
