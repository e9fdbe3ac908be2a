// README.md's NIO example (and Docs/NIO.md's), line for line, so that the
// build checks it. Compiled, never called: it serves a tap forever; the
// same program runs in full as Tools/nio-http (suite 59-nio-http), and the
// same bootstrap calls run over loopback ports in HTTPServerTests.
import DataplaneNIO
import NIOCore
import NIOHTTP1

/// The example's handler: any NIOHTTP1 server handler (here HTTPServerTests' one).
typealias MyHTTPHandler = PathEcho

enum ReadmeNIOExample {
    static func httpServer() throws {
        let group = try DataplaneEventLoopGroup(tap: "dp0", address: "10.0.0.2/24")   // one loop per core; cores: N for more
        let server = try DataplaneServerBootstrap(group: group)        // instead of ServerBootstrap(group: MultiThreadedEventLoopGroup(...))
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(MyHTTPHandler()) }
            }
            .bind(host: "10.0.0.2", port: 8080).wait()
        try server.closeFuture.wait()
    }
}
