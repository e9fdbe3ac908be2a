import Stack
import Testing
import Wire

/// TCP over IPv6 through two whole stacks over a loopback pair (Ethernet,
/// NDP, IPv6, the device rings): the same endpoint table as IPv4.
@Suite("TCP over IPv6 (loopback)")
struct TCPOverIPv6Tests {
    static let a6 = IPv6StackTests.a6
    static let b6 = IPv6StackTests.b6

    func ready() throws -> TwoStacks6 {
        let net = try TwoStacks6(addressA: Self.a6, addressB: Self.b6)
        #expect(net.pump(until: { net.b.ipv6Addresses(interface: 0).count == 2 && net.a.ipv6Addresses(interface: 0).count == 2 }))
        return net
    }

    /// Connects A to B's listener and returns both ends once open.
    func open(_ net: TwoStacks6, _ listener: TCPListenerHandle, to address: IPv6Address, port: UInt16,
              from source: IPv6Address) throws -> (TCPStreamHandle, TCPStreamHandle) {
        let (client, _) = try net.a.tcpConnect(from: source, port: nil, to: address, port: port, options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump(until: {
            server = server ?? net.b.tcpAccept(listener)?.0
            return server != nil && net.a.tcpStatus(client)?.state.phase == .open
        }))
        return (client, try #require(server))
    }

    @Test("handshake, 1 MB each way with identical bytes, MSS = MTU - 60, orderly close")
    func transferOverIPv6() throws {
        let net = try ready()
        let listener = try net.b.tcpListen(address: Self.b6, port: 6001, backlog: 4, options: TCPStreamOptions(), v6Only: true)
        let (client, server) = try open(net, listener, to: Self.b6, port: 6001, from: Self.a6)
        let status = try #require(net.b.tcpStatus(server))
        #expect(status.remote.address == Self.a6 && status.local.address == Self.b6 && status.remote.port == status.remote.port)
        #expect(status.sendMSS == 1500 - 60 - 12, "MSS from the IPv6 MTU, less the timestamp option")
        let size = 1 << 20
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        #expect(pumpTransfer(net, from: net.a, client, to: net.b, server, data) == data)
        #expect(net.b.counters[.tcpCoalesced] > 0, "software GRO merged IPv6 segments")
        #expect(pumpTransfer(net, from: net.b, server, to: net.a, client, data) == data)
        #expect(net.a.counters[.tcpCoalesced] > 0, "software GRO merged IPv6 segments")
        net.a.tcpShutdownWrite(client)
        #expect(net.pump(until: { net.b.tcpStatus(server)?.isAtEndOfStream == true }))
        net.b.tcpRelease(server)
        net.a.tcpRelease(client)
        #expect(net.pump(until: { net.b.tcpConnectionCount == 0 }, seconds: 5))
        #expect(net.a.tcpTimeWaitCount == 1)
        #expect(net.a.counters.malformed(.tcp, .badChecksum) == 0 && net.b.counters.malformed(.tcp, .badChecksum) == 0)
        #expect(net.b.counters[.ipv4Received] == 0, "nothing went over IPv4")
    }

    @Test("a :: listener takes IPv4 (v4-mapped) and IPv6 connections; a v6-only one refuses IPv4")
    func dualStackListener() throws {
        let net = try ready()
        let dual = try net.b.tcpListen(address: .unspecified, port: 6002, backlog: 8, options: TCPStreamOptions(), v6Only: false)
        let (_, over6) = try open(net, dual, to: Self.b6, port: 6002, from: Self.a6)
        let mappedB = IPv6Address(ipv4Mapped: IPv4Address("10.0.0.2")!)
        let mappedA = IPv6Address(ipv4Mapped: IPv4Address("10.0.0.1")!)
        let (_, over4) = try open(net, dual, to: mappedB, port: 6002, from: mappedA)
        #expect(net.b.tcpStatus(over6)?.remote.address == Self.a6)
        #expect(net.b.tcpStatus(over4)?.remote.address == mappedA)
        #expect(net.b.tcpStatus(over4)?.remoteAddress == IPv4Address("10.0.0.1")!)
        #expect(net.b.tcpStatus(over4)?.sendMSS == 1500 - 40 - 12)

        _ = try net.b.tcpListen(address: .unspecified, port: 6003, backlog: 8, options: TCPStreamOptions(), v6Only: true)
        let (refused, _) = try net.a.tcpConnect(from: mappedA, port: nil, to: mappedB, port: 6003, options: TCPStreamOptions())
        #expect(net.pump(until: { net.a.tcpStatus(refused)?.failure != nil }))
        #expect(net.a.tcpStatus(refused)?.failure == .refused)
    }

    /// Sends `data` from one end and reads it at the other.
    func pumpTransfer(_ net: TwoStacks6, from sender: NetStack, _ out: TCPStreamHandle, to receiver: NetStack,
                      _ into: TCPStreamHandle, _ data: [UInt8]) -> [UInt8] {
        var sent = 0
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        _ = net.pump(until: {
            if sent < data.count {
                let result = data.withUnsafeBytes { all in
                    sender.tcpSend(out, UnsafeRawBufferPointer(rebasing: all[sent..<min(sent + 65_536, data.count)]))
                }
                if case .queued(let count) = result { sent += count }
            }
            while let n = chunk.withUnsafeMutableBytes({ receiver.tcpReceive(into, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == data.count
        }, seconds: 30)
        return received
    }
}
