import DataplaneNIO
import HummingbirdCore
import Hummingbird
import Logging
import NIOCore

/// A Hummingbird responder (a Router's, unchanged) served over the data
/// plane. Hummingbird's `Application` builds its server with NIOPosix's
/// `ServerBootstrap` (HummingbirdCore's `Server.makeServer`), which only
/// takes NIOPosix's own loops; everything above the bootstrap is public
/// and transport-neutral, so this does what `Application.run` and
/// `Server.run` do with a `DataplaneServerBootstrap` in its place: bind,
/// give each connection to `HTTP1Channel` (Hummingbird's HTTP/1.1 child
/// channel), and answer each request through the responder with a
/// request context made as Application makes it, and the `Date` header it adds.
struct DataplaneApplication<Responder: HTTPResponder>: Sendable
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let group: DataplaneEventLoopGroup
    let host: String
    let port: Int
    let logger: Logger

    init<Builder: HTTPResponderBuilder>(router: Builder, group: DataplaneEventLoopGroup, host: String, port: Int,
                                        logger: Logger = Logger(label: "hb-http")) where Builder.Responder == Responder {
        responder = router.buildResponder()
        self.group = group
        self.host = host
        self.port = port
        self.logger = logger
    }

    /// Serves until the server channel closes (`onServerRunning` gets it, to close it later).
    func run(onServerRunning: @Sendable (Channel) async -> Void = { _ in }) async throws {
        let responder = self.responder
        let logger = self.logger
        let date = DateHeader(on: group.next())
        defer { date.stop() }
        let http = HTTP1Channel { request, responseWriter, channel in
            let context = Responder.Context(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                // As Application.run: the router answered what it could; anything else is a 500.
                logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = date.current
            try await responseWriter.write(response: response.head, body: response.body)
        }
        let server = try await DataplaneServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(host: host, port: port) { (channel: Channel) -> EventLoopFuture<HTTP1Channel.Value> in
                http.setup(channel: channel, logger: logger)
            }
        await onServerRunning(server.channel)
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { connections in
                for try await connection in inbound {
                    // The connection's task runs on its channel's loop (a
                    // TaskExecutor): reads, the router and writes without a
                    // hop to the global executor and back per request.
                    // Its task executor alone, not the loop itself: jobs then run isolated
                    // to no actor, and nonisolated async calls need no hop (Docs/NIO.md).
                    let loop = (connection.channel.eventLoop as? DataplaneEventLoop)?.taskExecutor
                    connections.addTask(executorPreference: loop) { await http.handle(value: connection, logger: logger) }
                }
            }
        }
    }
}
