import DataplaneNIO
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Echoes each datagram to its sender.
final class DatagramEcho: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

/// Collects datagrams.
final class DatagramCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let received = NIOLockedValueBox<[(String, Int, [UInt8])]>([])
    let errors = NIOLockedValueBox<[Error]>([])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        received.withLockedValue {
            $0.append((envelope.remoteAddress.ipAddress ?? "?", envelope.remoteAddress.port ?? -1, Array(envelope.data.readableBytesView)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        errors.withLockedValue { $0.append(error) }
    }
}

@Suite("UDP channels over loopback ports")
struct DatagramChannelTests {
    @Test func datagramEcho() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let server = try DataplaneDatagramBootstrap(group: loops.b)
            .channelInitializer { $0.pipeline.addHandler(DatagramEcho()) }
            .bind(host: TwoLoops.addressB, port: 5353).wait()
        let collector = DatagramCollector()
        let client = try DataplaneDatagramBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .bind(host: TwoLoops.addressA, port: 0).wait()
        let clientPort = try #require(client.localAddress?.port)
        #expect(clientPort != 0)
        let target = try SocketAddress(ipAddress: TwoLoops.addressB, port: 5353)
        for i in 0..<10 {
            try client.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(string: "datagram \(i)"))).wait()
        }
        #expect(eventually { collector.received.withLockedValue { $0.count } == 10 })
        let received = collector.received.withLockedValue { $0 }
        #expect(received.map(\.2) == (0..<10).map { Array("datagram \($0)".utf8) })
        #expect(received.allSatisfy { $0.0 == TwoLoops.addressB && $0.1 == 5353 })
        try client.close().wait()
        try server.close().wait()
    }

    @Test func connectedDatagramsAndRefusal() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let collector = DatagramCollector()
        let client = try DataplaneDatagramBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 5999).wait()
        // Nothing listens: the peer's ICMP port unreachable comes back as ECONNREFUSED.
        try client.writeAndFlush(ByteBuffer(string: "anyone?")).wait()
        #expect(eventually { !collector.errors.withLockedValue { $0 }.isEmpty })
        #expect((collector.errors.withLockedValue { $0 }.first as? IOError)?.errnoCode == ECONNREFUSED)
        #expect(client.isActive)
        try client.close().wait()
    }
}
