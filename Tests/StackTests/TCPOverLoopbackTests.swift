import Foundation
import Stack
import TCP
import Testing
import Wire

/// TCP through the whole stack: two NetStacks over a LoopbackPair, the
/// segments going through Ethernet, ARP, IPv4 and the device rings.
@Suite("TCP over the stack (loopback)")
struct TCPOverLoopbackTests {
    @Test("a 2 MB transfer arrives with identical bytes, then both sides close cleanly")
    func bulkTransfer() throws {
        let net = try TwoStacks(poolSize: 4096)
        let listener = try net.b.tcp.listen(on: TCPEndpoint(address: .any, port: 5001), backlog: 4)
        let client = try net.a.tcp.connect(
            from: TwoStacks.addressA, to: TCPEndpoint(address: TwoStacks.addressB, port: 5001), now: net.a.tcpNow)
        var server: TCPConnectionID?
        #expect(net.pump(until: {
            server = server ?? net.b.tcp.accept(listener)
            return server != nil && net.a.tcp.connection(client)?.state == .established
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
                sent += (try? data.withUnsafeBytes { all in
                    try net.a.tcp.send(client, UnsafeRawBufferPointer(rebasing: all[sent..<min(sent + 65_536, size)]))
                }) ?? 0
                net.a.runTCP()
            }
            while let n = try? chunk.withUnsafeMutableBytes({ try net.b.tcp.receive(serverID, into: $0) }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == size
        }, seconds: 60)
        #expect(done, "received \(received.count) of \(size)")
        #expect(received == data)

        // Orderly close both ways: A shuts down, B sees end of stream, B closes.
        try net.a.tcp.shutdownWrite(client)
        #expect(net.pump(until: { net.b.tcp.connection(serverID)?.isAtEndOfStream == true }))
        net.b.tcp.release(serverID, now: net.b.tcpNow)
        net.a.tcp.release(client, now: net.a.tcpNow)
        let closed = net.pump(until: { net.b.tcp.connectionCount == 0 }, seconds: 5)
        #expect(closed, "B: \(String(describing: net.b.tcp.connection(serverID)?.state)) A: \(String(describing: net.a.tcp.connection(client)?.state)) B count \(net.b.tcp.connectionCount) A count \(net.a.tcp.connectionCount)")
        #expect(net.a.tcp.timeWaitCount == 1, "the side that closed first keeps TIME-WAIT")
        #expect(net.a.counters.malformed(.tcp, .badChecksum) == 0)
        #expect(net.b.counters.malformed(.tcp, .badChecksum) == 0)
    }

    @Test("a SYN to a port with no listener is answered with RST: the connect fails as refused")
    func closedPortRefuses() throws {
        let net = try TwoStacks()
        var failures = [TCPConnectionError]()
        net.a.tcpEventHandler = { event in
            if case .connection(let id, let events) = event, events.contains(.closed),
                let error = net.a.tcp.connection(id)?.error {
                failures.append(error)
            }
        }
        _ = try net.a.tcp.connect(
            from: TwoStacks.addressA, to: TCPEndpoint(address: TwoStacks.addressB, port: 9), now: net.a.tcpNow)
        #expect(net.pump(until: { !failures.isEmpty }))
        #expect(failures == [.connectionRefused])
        #expect(net.b.tcp.statistics.resetsForClosedPorts == 1)
    }
}
