import DataplaneNIO
import Glibc
import NIOCore
import Testing
import Wire

/// NIO channels with IPv6 `SocketAddress`es over the loopback ports (A
/// fd20::1, B fd20::2, and 10.0.0.1 / 10.0.0.2): TCP echo, a dual-stack
/// server taking an IPv4 client, UDP echo with sources in envelopes.
@Suite("NIO channels over IPv6 (loopback ports)")
struct IPv6ChannelTests {
    /// Waits for both IPv6 addresses to leave DAD (each checked on its loop).
    func ready() throws -> TwoLoops {
        let loops = try TwoLoops(ipv6: true)
        #expect(eventually {
            let a = try? loops.a.submit { loops.stacks.value[0].isLocalIPv6Address(IPv6Address("fd20::1")!) }.wait()
            let b = try? loops.b.submit { loops.stacks.value[1].isLocalIPv6Address(IPv6Address("fd20::2")!) }.wait()
            return a == true && b == true
        })
        return loops
    }

    @Test("TCP echo to [fd20::2]:7100; a [::] server also takes an IPv4 client (::ffff:10.0.0.1)")
    func tcpEcho() throws {
        let loops = try ready()
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: "::", port: 7100).wait()
        #expect(server.localAddress?.protocol == .inet6 && server.localAddress?.port == 7100)
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(to: try SocketAddress(ipAddress: "fd20::2", port: 7100)).wait()
        #expect(client.remoteAddress?.ipAddress == "fd20::2" && client.localAddress?.ipAddress == "fd20::1")
        let message = Array("hello over IPv6".utf8)
        try client.writeAndFlush(ByteBuffer(bytes: message)).wait()
        #expect(eventually { collector.bytes == message })
        let over4 = Collector()
        let client4 = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(over4) }
            .connect(host: TwoLoops.addressB, port: 7100).wait()
        #expect(client4.remoteAddress?.protocol == .inet)
        try client4.writeAndFlush(ByteBuffer(bytes: message)).wait()
        #expect(eventually { over4.bytes == message })
        try client.close().wait()
        try client4.close().wait()
        try server.close().wait()
    }

    @Test("UDP echo over IPv6: envelopes carry [fd20::1]:port, and an IPv4 sender appears v4-mapped on a [::] channel")
    func datagramEcho() throws {
        let loops = try ready()
        defer { try? loops.shutdown() }
        let server = try DataplaneDatagramBootstrap(group: loops.b)
            .channelInitializer { $0.pipeline.addHandler(DatagramEcho()) }
            .bind(host: "::", port: 5354).wait()
        let collector = DatagramCollector()
        let client = try DataplaneDatagramBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .bind(host: "fd20::1", port: 0).wait()
        let target = try SocketAddress(ipAddress: "fd20::2", port: 5354)
        for i in 0..<5 {
            try client.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(string: "six \(i)"))).wait()
        }
        #expect(eventually { collector.received.withLockedValue { $0.count } == 5 })
        #expect(collector.received.withLockedValue { $0 }.allSatisfy { $0.0 == "fd20::2" && $0.1 == 5354 })
        let collector4 = DatagramCollector()
        let client4 = try DataplaneDatagramBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector4) }
            .bind(host: TwoLoops.addressA, port: 0).wait()
        try client4.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: TwoLoops.addressB, port: 5354),
                                                    data: ByteBuffer(string: "four"))).wait()
        #expect(eventually { collector4.received.withLockedValue { $0.count } == 1 })
        #expect(collector4.received.withLockedValue { $0.first?.0 } == TwoLoops.addressB)
        try client.close().wait()
        try client4.close().wait()
        try server.close().wait()
    }
}
