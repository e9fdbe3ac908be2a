import Hummingbird

/// The application's router: plain Hummingbird, the same for both
/// transports (the data plane or NIOPosix).
func makeRouter(bodySize: Int) -> Router<BasicRequestContext> {
    let pattern = Array("Hello from Hummingbird. ".utf8)
    let body = ByteBuffer(bytes: (0..<bodySize).map { pattern[$0 % pattern.count] })
    let router = Router()
    router.get("/") { _, _ in
        Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: body))
    }
    router.get("/hello/:name") { _, context in
        "Hello, \(context.parameters.get("name") ?? "nobody")!\n"
    }
    return router
}
