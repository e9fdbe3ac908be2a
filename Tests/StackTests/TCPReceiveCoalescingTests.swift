import Packets
import Stack
import Testing
import Wire

/// Software GRO (TCPReceiveCoalescer): hand-made segments sent to the
/// stack as one receive burst, after a hand-made handshake; what merged is
/// read off the `tcp.coalesced` counter, what arrived off the socket.
@Suite("TCP receive coalescing (GRO)")
struct TCPReceiveCoalescingTests {
    /// The test's side of TCP connections to the stack's port 80.
    final class Peer {
        let net: StackAndWire
        let listener: TCPListenerHandle
        static let stackPort: UInt16 = 80
        static let clientISS: UInt32 = 1000
        static let segmentSize = 1448  // MSS 1460 less the timestamp option
        /// The stack's ISS and TSval per client port.
        var serverISS: [UInt16: UInt32] = [:]
        var serverTS: [UInt16: UInt32] = [:]

        init(limits: StackLimits = StackLimits()) throws {
            net = try StackAndWire(limits: limits)
            net.introducePeer()
            listener = try net.stack.tcpListen(address: .any, port: Self.stackPort, backlog: 8, options: TCPStreamOptions())
        }

        /// Payload byte at stream offset `k`.
        static func byte(_ k: Int) -> UInt8 { UInt8(truncatingIfNeeded: k &* 7 &+ 3) }

        func frame(port: UInt16, _ repr: TCPRepr, payload: [UInt8]) -> [UInt8] {
            var segment = [UInt8](repeating: 0, count: repr.headerLength + payload.count)
            segment.withUnsafeMutableBytes { bytes in
                for (i, b) in payload.enumerated() { bytes[repr.headerLength + i] = b }
                repr.emit(into: TCPSegment(unchecked: bytes), source: StackAndWire.peerAddress,
                          destination: StackAndWire.stackAddress, checksum: .compute)
            }
            return net.ipv4Frame(protocol: .tcp, payload: segment)
        }

        /// The stack's TCP segments since the last call, parsed.
        func sentSegments() -> [TCPRepr] {
            net.sent().compactMap { frame -> TCPRepr? in
                guard frame.count > 34, frame[23] == 6 else { return nil }
                var copy = Array(frame[34...])
                return copy.withUnsafeMutableBytes { bytes in
                    (try? TCPSegment(checking: bytes)).flatMap { try? TCPRepr.parse($0, source: StackAndWire.stackAddress,
                                                                                       destination: StackAndWire.peerAddress) }
                }
            }
        }

        /// SYN, SYN-ACK, ACK; returns the accepted stream.
        func connect(port: UInt16) throws -> TCPStreamHandle {
            let syn = TCPRepr(sourcePort: port, destinationPort: Self.stackPort, sequenceNumber: Self.clientISS - 1,
                              flags: .syn, window: 65535,
                              options: TCPOptions(maximumSegmentSize: 1460, timestamp: (value: 100, echoReply: 0)))
            net.inject(frame(port: port, syn, payload: []))
            let synACK = try #require(sentSegments().first { $0.flags == [.syn, .ack] })
            serverISS[port] = synACK.sequenceNumber
            serverTS[port] = synACK.options.timestamp?.value ?? 0
            net.inject(frame(port: port, segment(port: port, offset: 0, flags: .ack, tsval: 100), payload: []))
            return try #require(net.stack.tcpAccept(listener)?.0)
        }

        /// A header at stream offset `offset` (0: the first data byte).
        func segment(port: UInt16, offset: Int, flags: TCPFlags = .ack, tsval: UInt32? = 101, tsecr: UInt32? = nil,
                     window: UInt16 = 65535, ackDelta: UInt32 = 0) -> TCPRepr {
            var options = TCPOptions()
            if let tsval { options.timestamp = (value: tsval, echoReply: tsecr ?? serverTS[port] ?? 0) }
            return TCPRepr(sourcePort: port, destinationPort: Self.stackPort,
                           sequenceNumber: Self.clientISS &+ UInt32(offset),
                           acknowledgmentNumber: (serverISS[port] ?? 0) &+ 1 &+ ackDelta,
                           flags: flags, window: window, options: options)
        }

        /// A data frame of `length` bytes at `offset`.
        func data(port: UInt16 = 40000, offset: Int, length: Int = segmentSize, flags: TCPFlags = .ack,
                  tsval: UInt32? = 101, tsecr: UInt32? = nil, window: UInt16 = 65535, ackDelta: UInt32 = 0) -> [UInt8] {
            frame(port: port, segment(port: port, offset: offset, flags: flags, tsval: tsval, tsecr: tsecr,
                                      window: window, ackDelta: ackDelta),
                  payload: (offset..<(offset + length)).map(Self.byte))
        }

        /// Sends `frames` to the stack in one receive burst, then polls.
        func burst(_ frames: [[UInt8]]) {
            var packets = frames.map { frame -> PacketBuffer in
                let packet = net.pool.allocate()!
                packet.setContents(frame)
                return packet
            }
            let n = packets.withUnsafeMutableBufferPointer { net.peer.transmit(queue: 0, $0) }
            precondition(n == frames.count, "the loopback ring took \(n) of \(frames.count)")
            net.stack.poll()
        }

        /// What the stream has received so far.
        func read(_ stream: TCPStreamHandle) -> [UInt8] {
            var result = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 65536)
            while let n = chunk.withUnsafeMutableBytes({ net.stack.tcpReceive(stream, into: $0)?.count }), n > 0 {
                result += chunk[0..<n]
            }
            return result
        }

        var coalesced: UInt64 { net.stack.counters[.tcpCoalesced] }
    }

    static func expected(_ range: Range<Int>) -> [UInt8] { range.map(Peer.byte) }

    @Test("in-order full segments of one flow merge; the payload arrives whole, with one ACK for all")
    func mergesInOrder() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        _ = peer.sentSegments()
        let size = Peer.segmentSize
        peer.burst((0..<4).map { peer.data(offset: $0 * size) })
        #expect(peer.coalesced == 3)
        #expect(peer.read(stream) == Self.expected(0..<(4 * size)))
        let acks = peer.sentSegments().filter { $0.flags.contains(.ack) }
        #expect(acks.count == 1, "one ACK for the burst, as without coalescing")
        #expect(acks.last?.acknowledgmentNumber == Peer.clientISS &+ UInt32(4 * size))
        #expect(peer.net.stack.counters.malformed(.tcp, .badChecksum) == 0)
    }

    @Test("the ACK count is the same with coalescing off: one ACK per burst of full segments")
    func ackCountMatchesWithoutCoalescing() throws {
        var limits = StackLimits()
        limits.tcpCoalescingFlows = 0
        let peer = try Peer(limits: limits)
        let stream = try peer.connect(port: 40000)
        _ = peer.sentSegments()
        let size = Peer.segmentSize
        peer.burst((0..<4).map { peer.data(offset: $0 * size) })
        #expect(peer.coalesced == 0)
        #expect(peer.read(stream) == Self.expected(0..<(4 * size)))
        #expect(peer.sentSegments().filter { $0.flags.contains(.ack) }.count == 1)
        // Two bursts of one full segment each: the second owes the ACK (RFC 5681 4.2).
        peer.burst([peer.data(offset: 4 * size)])
        #expect(peer.sentSegments().isEmpty)
        peer.burst([peer.data(offset: 5 * size)])
        #expect(peer.sentSegments().filter { $0.flags.contains(.ack) }.count == 1)
    }

    @Test("a segment with another flag (URG, ECE, FIN) is not merged, nor is the one after it into the run before")
    func refusesAcrossFlags() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        let size = Peer.segmentSize
        peer.burst([peer.data(offset: 0), peer.data(offset: size, flags: [.ack, .ece]), peer.data(offset: 2 * size)])
        #expect(peer.coalesced == 0)
        #expect(peer.read(stream) == Self.expected(0..<(3 * size)))
    }

    @Test("PSH ends a run: it merges, and the next segment starts a new run")
    func pushEndsARun() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        let size = Peer.segmentSize
        peer.burst([peer.data(offset: 0), peer.data(offset: size, flags: [.ack, .psh]),
                    peer.data(offset: 2 * size), peer.data(offset: 3 * size)])
        #expect(peer.coalesced == 2)
        #expect(peer.read(stream) == Self.expected(0..<(4 * size)))
    }

    @Test("a shorter segment ends a run; a longer one is not merged")
    func segmentSizes() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        peer.burst([peer.data(offset: 0, length: 1000), peer.data(offset: 1000, length: 500),
                    peer.data(offset: 1500, length: 1000), peer.data(offset: 2500, length: 1200)])
        #expect(peer.coalesced == 1)
        #expect(peer.read(stream) == Self.expected(0..<3700))
    }

    @Test("timestamps: TSval may grow, not go back; TSecr must match; no option may come or go")
    func timestampRules() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        let size = Peer.segmentSize
        let echo = try #require(peer.serverTS[40000])
        peer.burst([peer.data(offset: 0, tsval: 101), peer.data(offset: size, tsval: 105)])
        #expect(peer.coalesced == 1, "a growing TSval merges")
        peer.burst([peer.data(offset: 2 * size, tsval: 120), peer.data(offset: 3 * size, tsval: 120, tsecr: echo &- 1)])
        #expect(peer.coalesced == 1, "another TSecr does not")
        #expect(peer.read(stream) == Self.expected(0..<(4 * size)))
        peer.burst([peer.data(offset: 4 * size, tsval: 130), peer.data(offset: 5 * size, tsval: nil)])
        #expect(peer.coalesced == 1, "a segment without the option does not")
        // (TCP's PAWS check may drop the segments below: only the merge counts here.)
        peer.burst([peer.data(offset: 6 * size, tsval: 140), peer.data(offset: 7 * size, tsval: 139)])
        #expect(peer.coalesced == 1, "a TSval going back does not")
    }

    @Test("a hole, another ACK number or another window ends a run")
    func refusesHolesAndOtherHeaders() throws {
        let peer = try Peer()
        let stream = try peer.connect(port: 40000)
        let size = Peer.segmentSize
        // 0, hole at 1, then 2 and 3 (which merge with each other).
        peer.burst([peer.data(offset: 0), peer.data(offset: 2 * size), peer.data(offset: 3 * size)])
        #expect(peer.coalesced == 1)
        let dupACKs = peer.sentSegments().filter { $0.flags == .ack }
        #expect(dupACKs.count >= 2, "one duplicate ACK per out-of-order wire segment (RFC 5681 4.2), got \(dupACKs.count)")
        peer.burst([peer.data(offset: size)])  // fills the hole
        #expect(peer.read(stream) == Self.expected(0..<(4 * size)))
        peer.burst([peer.data(offset: 4 * size), peer.data(offset: 5 * size, window: 60000)])
        #expect(peer.coalesced == 1, "another window")
        peer.burst([peer.data(offset: 6 * size), peer.data(offset: 7 * size, ackDelta: 1)])
        #expect(peer.coalesced == 1, "another ACK number")
    }

    @Test("segments of two flows interleaved in one burst merge within each flow")
    func twoFlows() throws {
        let peer = try Peer()
        let first = try peer.connect(port: 40000)
        let second = try peer.connect(port: 40001)
        let size = Peer.segmentSize
        peer.burst([peer.data(port: 40000, offset: 0), peer.data(port: 40001, offset: 0),
                    peer.data(port: 40000, offset: size), peer.data(port: 40001, offset: size),
                    peer.data(port: 40000, offset: 2 * size)])
        #expect(peer.coalesced == 3)
        #expect(peer.read(first) == Self.expected(0..<(3 * size)))
        #expect(peer.read(second) == Self.expected(0..<(2 * size)))
    }
}
