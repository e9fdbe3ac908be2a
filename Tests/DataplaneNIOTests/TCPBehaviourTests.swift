import DataplaneNIO
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Testing

@Suite("NIO channel behaviour over loopback ports")
struct TCPBehaviourTests {
    /// A server that does not read (autoRead off) until told: the client's
    /// pending bytes pass the high water mark, isWritable goes false, and
    /// comes back once the server reads everything.
    @Test func slowReaderMakesTheWriterUnwritableAndItRecovers() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let serverSide = NIOLockedValueBox<Channel?>(nil)
        let received = Collector()
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { channel in
                serverSide.withLockedValue { $0 = channel }
                return channel.pipeline.addHandler(received)
            }
            .bind(host: TwoLoops.addressB, port: 7001).wait()
        let recorder = WritabilityRecorder()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 16 * 1024, high: 64 * 1024))
            .channelInitializer { $0.pipeline.addHandler(recorder) }
            .connect(host: TwoLoops.addressB, port: 7001).wait()
        // Write from the loop until not writable (bounded: 8 MiB).
        let chunk = ByteBuffer(repeating: 0x5A, count: 16 * 1024)
        let written = try client.eventLoop.submit { () -> Int in
            var total = 0
            while client.isWritable && total < 8 << 20 {
                client.writeAndFlush(chunk, promise: nil)
                total += chunk.readableBytes
            }
            return total
        }.wait()
        #expect(!client.isWritable)
        #expect(recorder.changes.withLockedValue { $0 } == [false])
        #expect(written < 8 << 20)
        // The peer's receive ring is full; nothing reached the handler yet.
        #expect(received.bytes.isEmpty)
        // Now read: autoRead on drains everything.
        // The client is connected at the SYN-ACK; the server's loop accepts on its own time.
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        let child = try #require(serverSide.withLockedValue { $0 })
        try child.setOption(ChannelOptions.autoRead, value: true).wait()
        #expect(eventually { received.bytes.count == written })
        #expect(eventually { client.isWritable })
        #expect(recorder.changes.withLockedValue { $0 } == [false, true])
        try client.close().wait()
        try server.close().wait()
    }

    /// With autoRead off, bytes arrive only after each read().
    @Test func readOnlyWhenAsked() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let serverSide = NIOLockedValueBox<Channel?>(nil)
        let received = Collector()
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { channel in
                serverSide.withLockedValue { $0 = channel }
                return channel.pipeline.addHandler(received)
            }
            .bind(host: TwoLoops.addressB, port: 7002).wait()
        let client = try DataplaneClientBootstrap(group: loops.a).connect(host: TwoLoops.addressB, port: 7002).wait()
        try client.writeAndFlush(ByteBuffer(string: "one")).wait()
        usleep(50_000)
        #expect(received.bytes.isEmpty)
        // The client is connected at the SYN-ACK; the server's loop accepts on its own time.
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        let child = try #require(serverSide.withLockedValue { $0 })
        child.read()
        #expect(eventually { received.bytes == Array("one".utf8) })
        try client.writeAndFlush(ByteBuffer(string: "two")).wait()
        usleep(50_000)
        #expect(received.bytes == Array("one".utf8))
        child.read()
        #expect(eventually { received.bytes == Array("onetwo".utf8) })
        try client.close().wait()
        try server.close().wait()
    }

    /// The client closes its output: the server sees inputClosed and can
    /// still answer; then the server closes its output the same way and the
    /// client (half-closure allowed too) sees inputClosed; both end closed.
    @Test func halfCloseBothWays() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let serverSide = NIOLockedValueBox<Channel?>(nil)
        let serverCollector = Collector()
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                serverSide.withLockedValue { $0 = channel }
                return channel.pipeline.addHandler(serverCollector)
            }
            .bind(host: TwoLoops.addressB, port: 7003).wait()
        let clientCollector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { $0.pipeline.addHandler(clientCollector) }
            .connect(host: TwoLoops.addressB, port: 7003).wait()
        try client.writeAndFlush(ByteBuffer(string: "request")).wait()
        try client.close(mode: .output).wait()
        #expect(eventually { serverCollector.events.contains("\(ChannelEvent.inputClosed)") })
        #expect(serverCollector.bytes == Array("request".utf8))
        // The client cannot write any more.
        #expect(throws: ChannelError.outputClosed) { try client.writeAndFlush(ByteBuffer(string: "x")).wait() }
        // The client is connected at the SYN-ACK; the server's loop accepts on its own time.
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        let child = try #require(serverSide.withLockedValue { $0 })
        #expect(child.isActive)
        try child.writeAndFlush(ByteBuffer(string: "response")).wait()
        #expect(eventually { clientCollector.bytes == Array("response".utf8) })
        try child.close(mode: .output).wait()
        #expect(eventually { clientCollector.events.contains("\(ChannelEvent.inputClosed)") })
        // Both directions over on both ends: both channels close.
        #expect(eventually { !client.isActive && !child.isActive })
        try client.closeFuture.wait()
        try child.closeFuture.wait()
        try server.close().wait()
    }

    /// Without allowRemoteHalfClosure the peer's FIN closes the channel.
    @Test func peerFINClosesWithoutHalfClosure() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let serverSide = NIOLockedValueBox<Channel?>(nil)
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { channel in
                serverSide.withLockedValue { $0 = channel }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: TwoLoops.addressB, port: 7004).wait()
        let client = try DataplaneClientBootstrap(group: loops.a).connect(host: TwoLoops.addressB, port: 7004).wait()
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        try client.close(mode: .output).wait()
        // The client is connected at the SYN-ACK; the server's loop accepts on its own time.
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        let child = try #require(serverSide.withLockedValue { $0 })
        try child.closeFuture.wait()
        try client.closeFuture.wait()
        try server.close().wait()
    }

    @Test func connectionRefusedIsAnIOError() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        do {
            _ = try DataplaneClientBootstrap(group: loops.a).connect(host: TwoLoops.addressB, port: 7999).wait()
            Issue.record("connect to a closed port succeeded")
        } catch let error as IOError {
            #expect(error.errnoCode == ECONNREFUSED)
        }
    }

    /// The server closes with unread data: its stack sends RST, and the
    /// client's pipeline sees ECONNRESET, then the channel closes.
    @Test func resetIsAnIOError() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let serverSide = NIOLockedValueBox<Channel?>(nil)
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { channel in
                serverSide.withLockedValue { $0 = channel }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: TwoLoops.addressB, port: 7005).wait()
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 7005).wait()
        try client.writeAndFlush(ByteBuffer(string: "never read")).wait()
        #expect(eventually { serverSide.withLockedValue { $0 } != nil })
        usleep(20_000)  // the bytes reach the server's receive ring
        try serverSide.withLockedValue { $0 }!.close().wait()
        try client.closeFuture.wait()
        let errors = collector.errors
        #expect(errors.count == 1)
        #expect((errors.first as? IOError)?.errnoCode == ECONNRESET, "\(errors)")
        try server.close().wait()
    }

    @Test func idleStateHandlerClosesAnIdleConnection() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let idle = CloseOnIdle()
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(IdleStateHandler(readTimeout: .milliseconds(100)), idle)
                }
            }
            .bind(host: TwoLoops.addressB, port: 7006).wait()
        let start = NIODeadline.now()
        let client = try DataplaneClientBootstrap(group: loops.a).connect(host: TwoLoops.addressB, port: 7006).wait()
        try client.closeFuture.wait()
        let elapsed = NIODeadline.now() - start
        #expect(elapsed >= .milliseconds(100) && elapsed < .seconds(3))
        #expect(idle.fired.withLockedValue { $0 } == ["\(IdleStateHandler.IdleStateEvent.read)"])
        try server.close().wait()
    }

    @Test func socketOptionsReachTheSocket() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b).bind(host: TwoLoops.addressB, port: 7007).wait()
        #expect(try server.getOption(ChannelOptions.socketOption(.so_reuseaddr)).wait() != 0)
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 0)
            .connect(host: TwoLoops.addressB, port: 7007).wait()
        // NIO's two spellings of TCP_NODELAY reach the same option.
        #expect(try client.getOption(ChannelOptions.tcpOption(.tcp_nodelay)).wait() == 0)
        try client.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1).wait()
        #expect(try client.getOption(ChannelOptions.socketOption(.tcp_nodelay)).wait() != 0)
        try client.setOption(ChannelOptions.socketOption(.so_rcvbuf), value: 65536).wait()
        #expect(try client.getOption(ChannelOptions.socketOption(.so_rcvbuf)).wait() == 131072)
        // An option the data plane does not have is an IOError (ENOPROTOOPT), not a crash.
        #expect(throws: IOError.self) {
            try client.setOption(ChannelOptions.socketOption(.so_timestamp), value: 1).wait()
        }
        try client.close().wait()
        try server.close().wait()
    }

    @Test func aThousandConcurrentChannels() throws {
        var configuration = TwoLoops.testConfiguration
        configuration.defaultReceiveBufferSize = 8 * 1024
        configuration.defaultSendBufferSize = 8 * 1024
        let loops = try TwoLoops(poolSize: 3000, configuration: configuration)
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: TwoLoops.addressB, port: 7008).wait()
        let count = 1000
        let collectors = (0..<count).map { _ in Collector() }
        let connects = collectors.map { collector in
            DataplaneClientBootstrap(group: loops.a)
                .channelInitializer { $0.pipeline.addHandler(collector) }
                .connect(host: TwoLoops.addressB, port: 7008)
        }
        let clients = try connects.map { try $0.wait() }
        for (i, client) in clients.enumerated() {
            client.writeAndFlush(ByteBuffer(string: "channel \(i)"), promise: nil)
        }
        #expect(eventually(seconds: 20) {
            collectors.enumerated().allSatisfy { i, collector in collector.bytes == Array("channel \(i)".utf8) }
        })
        try EventLoopFuture.andAllSucceed(clients.map { $0.close() }, on: loops.a).wait()
        try server.close().wait()
    }
}
