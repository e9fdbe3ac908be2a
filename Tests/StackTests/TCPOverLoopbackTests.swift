import Foundation
import Stack
import Testing
import Wire

/// TCP through the whole stack, driven through NetStack's TCP calls (the
/// socket layer's only way in): two NetStacks over a LoopbackPair, the
/// segments going through Ethernet, ARP, IPv4 and the device rings.
@Suite("TCP over the stack (loopback)")
struct TCPOverLoopbackTests {
    @Test("a 2 MB transfer arrives with identical bytes, then both sides close cleanly")
    func bulkTransfer() throws {
        let net = try TwoStacks(poolSize: 4096)
        let listener = try net.b.tcpListen(address: .any, port: 5001, backlog: 4, options: TCPStreamOptions())
        let (client, opened) = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: TwoStacks.addressB, port: 5001,
                                                    options: TCPStreamOptions())
        #expect(opened.state.phase == .opening && opened.remotePort == 5001)
        var server: TCPStreamHandle?
        #expect(net.pump(until: {
            server = server ?? net.b.tcpAccept(listener)?.0
            return server != nil && net.a.tcpStatus(client)?.state.phase == .open
        }))
        let serverID = try #require(server)

        let size = 2 << 20
        var data = [UInt8](repeating: 0, count: size)
        for i in 0..<size { data[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        var sent = 0
        var received = [UInt8]()
        received.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let done = net.pump(until: {
            if sent < size {
                let result = data.withUnsafeBytes { all in
                    net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: all[sent..<min(sent + 65_536, size)]))
                }
                if case .queued(let count) = result { sent += count }
            }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(serverID, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == size
        }, seconds: 60)
        #expect(done, "received \(received.count) of \(size)")
        #expect(received == data)
        #expect(net.b.counters[.tcpCoalesced] > 0, "bursts of the bulk direction are coalesced on receive (GRO)")

        // Orderly close both ways: A shuts down, B sees end of stream, B closes.
        net.a.tcpShutdownWrite(client)
        #expect(net.pump(until: { net.b.tcpStatus(serverID)?.isAtEndOfStream == true }))
        if case .closed = net.a.tcpSend(client, UnsafeRawBufferPointer(start: nil, count: 0)) {} else {
            Issue.record("a send after shutdown(SHUT_WR) must report the connection closed for sending")
        }
        net.b.tcpRelease(serverID)
        net.a.tcpRelease(client)
        let closed = net.pump(until: { net.b.tcpConnectionCount == 0 }, seconds: 5)
        #expect(closed, "B: \(String(describing: net.b.tcpStatus(serverID)?.state)) A: \(String(describing: net.a.tcpStatus(client)?.state)) B count \(net.b.tcpConnectionCount) A count \(net.a.tcpConnectionCount)")
        #expect(net.a.tcpTimeWaitCount == 1, "the side that closed first keeps TIME-WAIT")
        #expect(net.a.counters.malformed(.tcp, .badChecksum) == 0)
        #expect(net.b.counters.malformed(.tcp, .badChecksum) == 0)
    }

    @Test("a peek copies without consuming; the read after it gets the same bytes")
    func peekThenRead() throws {
        let net = try TwoStacks()
        let listener = try net.b.tcpListen(address: .any, port: 5002, backlog: 4, options: TCPStreamOptions())
        let (client, _) = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: TwoStacks.addressB, port: 5002,
                                               options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump(until: { server = server ?? net.b.tcpAccept(listener)?.0; return server != nil }))
        let serverID = try #require(server)
        let message: [UInt8] = Array("hello, peek".utf8)
        _ = message.withUnsafeBytes { net.a.tcpSend(client, $0) }
        #expect(net.pump(until: { (net.b.tcpStatus(serverID)?.bytesReadable ?? 0) == message.count }))
        var buffer = [UInt8](repeating: 0, count: 64)
        let peeked = buffer.withUnsafeMutableBytes { net.b.tcpReceive(serverID, into: $0, peek: true) }
        #expect(peeked?.count == message.count && peeked?.status.bytesReadable == message.count)
        #expect(Array(buffer[0..<message.count]) == message)
        buffer = [UInt8](repeating: 0, count: 64)
        let read = buffer.withUnsafeMutableBytes { net.b.tcpReceive(serverID, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<5])) }
        #expect(read?.count == 5 && read?.status.bytesReadable == message.count - 5)
        #expect(Array(buffer[0..<5]) == Array(message[0..<5]))
    }

    @Test("a SYN to a port with no listener is answered with RST: the connect fails as refused")
    func closedPortRefuses() throws {
        let net = try TwoStacks()
        var failures = [TCPStreamFailure]()
        net.a.tcpEventHandler = { event in
            if case .stream(_, _, let failure?) = event { failures.append(failure) }
        }
        _ = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: TwoStacks.addressB, port: 9,
                                 options: TCPStreamOptions())
        #expect(net.pump(until: { !failures.isEmpty }))
        #expect(failures == [.refused])
        #expect(net.b.tcpStatistics.resetsForClosedPorts == 1)
    }
}
