import Packets
import Stack
import Testing
import Wire

/// Packet Too Big to TCP (RFC 8201 §4, RFC 9293 §3.7.3): a PTB for the
/// peer lowers the connection's segment size and resends what was in
/// flight at the new size; new connections to that peer start small.
@Suite("TCP path MTU over IPv6 (loopback)")
struct TCPPathMTUTests {
    static let a6 = IPv6StackTests.a6
    static let b6 = IPv6StackTests.b6

    /// A Packet Too Big from a router on B's link to A, quoting a TCP segment from A to B.
    static func packetTooBig(_ net: TwoStacks6, mtu: UInt32, ports: (UInt16, UInt16)) -> [UInt8] {
        let quoteLength = IPv6Packet.headerLength + TCPSegment.minimumHeaderLength
        let repr = ICMPv6Repr.packetTooBig(mtu: mtu, quoteLength: quoteLength)
        let router = IPv6Address("fd20::fe")!
        var frame = [UInt8](repeating: 0, count: EthernetFrame.headerLength + IPv6Packet.headerLength + repr.bufferLength)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: net.ports[0].device.macAddress, source: net.ports[1].device.macAddress, etherType: .ipv6)
                .emit(into: EthernetFrame(unchecked: bytes))
            let ip = UnsafeMutableRawBufferPointer(rebasing: bytes[EthernetFrame.headerLength...])
            IPv6Repr(source: router, destination: a6, nextHeader: .icmpv6, payloadLength: repr.bufferLength, hopLimit: 64)
                .emit(into: IPv6Packet(unchecked: ip))
            let message = ICMPv6Message(unchecked: UnsafeMutableRawBufferPointer(rebasing: ip[IPv6Packet.headerLength...]))
            let quote = message.body
            IPv6Repr(source: a6, destination: b6, nextHeader: .tcp, payloadLength: 1400, hopLimit: 64)
                .emit(into: IPv6Packet(unchecked: quote))
            quote.storeBytes(of: ports.0.bigEndian, toByteOffset: IPv6Packet.headerLength, as: UInt16.self)
            quote.storeBytes(of: ports.1.bigEndian, toByteOffset: IPv6Packet.headerLength + 2, as: UInt16.self)
            repr.emit(into: message, source: router, destination: a6)
        }
        return frame
    }

    /// Hands a frame to A as if B's side of the pair had sent it.
    static func deliverToA(_ net: TwoStacks6, _ frame: [UInt8]) {
        let packet = net.pool.allocate()!
        _ = packet.setContents(frame)
        var burst = [packet]
        let n = burst.withUnsafeMutableBufferPointer { net.ports[1].device.transmit(queue: 0, $0) }
        if n == 0 { packet.free() }
    }

    @Test("PTB 1280 mid-transfer: MSS 1428 -> 1208, in-flight data resent smaller, bytes equal, no IPv6 fragments; a new connection starts at 1208")
    func packetTooBigShrinksSegments() throws {
        let test = TCPOverIPv6Tests()
        let net = try test.ready()
        let listener = try net.b.tcpListen(address: Self.b6, port: 6101, backlog: 4, options: TCPStreamOptions(), v6Only: true)
        let (client, server) = try test.open(net, listener, to: Self.b6, port: 6101, from: Self.a6)
        let before = try #require(net.a.tcpStatus(client))
        #expect(before.sendMSS == 1500 - 60 - 12)
        // Data in flight (sent by A, not yet read by B) when the PTB comes.
        let data = (0..<(512 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 40503 >> 7) }
        let queued = data.withUnsafeBytes { net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: $0[0..<65_536])) }
        guard case .queued(let first) = queued, first > 0 else {
            Issue.record("nothing queued: \(queued)")
            return
        }
        net.a.poll()
        #expect(net.a.tcpStatus(client)!.bytesUnacknowledged > 0)
        Self.deliverToA(net, Self.packetTooBig(net, mtu: 1280, ports: (before.local.port, 6101)))
        net.a.poll()
        #expect(net.a.counters[.ipv6PathMTUUpdates] == 1)
        #expect(net.a.tcpStatus(client)?.sendMSS == 1280 - 60 - 12)
        #expect(net.a.tcpConnectionStatistics(client)?.pathMTURetransmissions == 1)
        let fragmentsBefore = net.a.counters[.ipv6FragmentsSent]
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var sent = first
        #expect(net.pump(until: {
            if sent < data.count, case .queued(let n) = data.withUnsafeBytes({
                net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: $0[sent..<min(sent + 65_536, data.count)]))
            }) { sent += n }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(server, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == data.count
        }, seconds: 20))
        #expect(received == data)
        #expect(net.a.counters[.ipv6FragmentsSent] == fragmentsBefore, "segments fit the 1280-byte path")
        // A later connection to B starts with the path's size.
        let (second, _) = try test.open(net, listener, to: Self.b6, port: 6101, from: Self.a6)
        #expect(net.a.tcpStatus(second)?.sendMSS == 1280 - 60 - 12)
        // A PTB that does not lower the MTU changes nothing.
        Self.deliverToA(net, Self.packetTooBig(net, mtu: 1400, ports: (before.local.port, 6101)))
        net.a.poll()
        #expect(net.a.counters[.ipv6PathMTUUpdates] == 1 && net.a.tcpConnectionStatistics(client)?.pathMTURetransmissions == 1)
    }
}
