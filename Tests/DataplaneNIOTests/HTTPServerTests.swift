import DataplaneNIO
import NIOCore
import NIOHTTP1
import Testing

/// A plain NIOHTTP1 handler, as any NIOPosix server has.
final class PathEcho: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let body = ByteBuffer(string: "you asked for \(request.uri)\n")
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

@Suite("NIO's HTTP/1.1 server pipeline over loopback ports")
struct HTTPServerTests {
    @Test func keepAliveRequestsAreAnswered() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(PathEcho()) }
            }
            .bind(host: TwoLoops.addressB, port: 8080).wait()
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 8080).wait()
        // Two pipelined requests on one connection.
        let requests = "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"
        try client.writeAndFlush(ByteBuffer(string: requests)).wait()
        #expect(eventually {
            let text = String(decoding: collector.bytes, as: UTF8.self)
            return text.contains("you asked for /one\n") && text.contains("you asked for /two\n")
        })
        let text = String(decoding: collector.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        var responses = 0
        var rest = Substring(text)
        while let found = rest.firstRange(of: "HTTP/1.1 200 OK") {
            responses += 1
            rest = rest[found.upperBound...]
        }
        #expect(responses == 2)
        try client.close().wait()
        try server.close().wait()
    }
}
