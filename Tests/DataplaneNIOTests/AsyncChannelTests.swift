import DataplaneNIO
import NIOCore
import Testing

@Suite("NIOAsyncChannel over data-plane channels")
struct AsyncChannelTests {
    /// The server is NIOPosix's async shape: bind gives a NIOAsyncChannel of
    /// NIOAsyncChannels; each connection echoes until the client half-closes.
    @Test func asyncEcho() async throws {
        let loops = try TwoLoops()
        // Half-closure on: the client's FIN ends the inbound stream only, and
        // the echo of the last bytes still goes out (without it the FIN
        // closes the channel under the echo, as it would on NIOPosix).
        let server = try await DataplaneServerBootstrap(group: loops.b)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(host: TwoLoops.addressB, port: 7100) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        // On the connection's loop (a TaskExecutor): reading
                        // and writing need no hop, and the echo stays on it.
                        let loop = connection.channel.eventLoop as! DataplaneEventLoop
                        let stayed = try await withTaskExecutorPreference(loop) {
                            try await connection.executeThenClose { inbound, outbound in
                                var onLoop = loop.inEventLoop
                                for try await buffer in inbound {
                                    onLoop = onLoop && loop.inEventLoop
                                    try await outbound.write(buffer)
                                }
                                return onLoop && loop.inEventLoop
                            }
                        }
                        #expect(stayed)
                    }
                }
            }
            for round in 0..<3 {
                let client = try await DataplaneClientBootstrap(group: loops.a)
                    .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    .connect(host: TwoLoops.addressB, port: 7100) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                                wrappingChannelSynchronously: channel,
                                configuration: .init(isOutboundHalfClosureEnabled: true))
                        }
                    }
                let message = String(repeating: "round \(round) ", count: 10_000)
                let echoed = try await client.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: message))
                    outbound.finish()  // half-closes: the server's loop ends, it closes
                    var all = ByteBuffer()
                    for try await buffer in inbound { all.writeImmutableBuffer(buffer) }
                    return String(buffer: all)
                }
                // Compared without printing 80 KB on a failure.
                #expect(echoed.utf8.count == message.utf8.count)
                #expect(echoed == message, "round \(round): \(echoed.utf8.count) of \(message.utf8.count) bytes came back")
            }
            try await server.channel.close()
            try await group.waitForAll()
        }
        try await loops.group.shutdownGracefully()
    }
}
