import DataplaneNIO
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Testing

@Suite("TCP channels over loopback ports")
struct TCPChannelTests {
    @Test func echoRoundTrip() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: TwoLoops.addressB, port: 7000).wait()
        #expect(server.localAddress?.port == 7000)
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 7000).wait()
        #expect(client.isActive)
        #expect(client.remoteAddress?.port == 7000)
        let message = Array("hello, data plane".utf8)
        try client.writeAndFlush(ByteBuffer(bytes: message)).wait()
        #expect(eventually { collector.bytes == message })
        try client.close().wait()
        try server.close().wait()
    }
}
