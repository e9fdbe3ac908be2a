import NIOCore
import NIOHTTP1

/// A plain NIO HTTP/1.1 handler: every request gets the same body (1 KiB
/// by default), keep-alive as the client asks. Nothing in it knows which
/// transport is underneath.
final class HelloHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let body: ByteBuffer

    init(bodySize: Int) {
        let pattern = Array("Hello from SwiftNIO. ".utf8)
        body = ByteBuffer(bytes: (0..<bodySize).map { pattern[$0 % pattern.count] })
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain")
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        let head = HTTPResponseHead(version: request.version, status: .ok, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { [context] _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}

/// The same child pipeline for both transports.
@Sendable func httpChildInitializer(bodySize: Int) -> @Sendable (Channel) -> EventLoopFuture<Void> {
    { channel in
        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
            channel.pipeline.addHandler(HelloHandler(bodySize: bodySize))
        }
    }
}
