import Glibc
import NIOCore
import Sockets

/// A TCP server on the data plane, shaped like NIOPosix's `ServerBootstrap`:
///
///     let channel = try DataplaneServerBootstrap(group: group)
///         .serverChannelOption(ChannelOptions.backlog, value: 256)
///         .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
///         .childChannelInitializer { channel in channel.pipeline.addHandler(EchoHandler()) }
///         .bind(host: "10.0.0.2", port: 7).wait()
///
/// Given a group, every core listens (SO_REUSEPORT) and the first core's
/// listener is the server channel; given one loop, only that core does.
/// A connection stays on the loop of the core whose stack accepted it, so
/// there is no child group.
public final class DataplaneServerBootstrap {
    private let group: EventLoopGroup
    private var serverOptions = ChannelOptions.Storage()
    private var childOptions = ChannelOptions.Storage()
    private var serverInitializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?
    private var childInitializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?

    /// `group` is a `DataplaneEventLoopGroup` or one of its loops; any other
    /// group makes `bind` fail (it has no data-plane sockets).
    public init(group: EventLoopGroup) {
        self.group = group
        // As NIOPosix: a server reuses its address.
        serverOptions.append(key: ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        // As NIOPosix: connections without Nagle's delay (an HTTP response's
        // head and body would otherwise wait for the peer's delayed ACK).
        childOptions.append(key: ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
    }

    public func serverChannelOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> Self {
        serverOptions.append(key: option, value: value)
        return self
    }

    public func childChannelOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> Self {
        childOptions.append(key: option, value: value)
        return self
    }

    public func serverChannelInitializer(_ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> Self {
        serverInitializer = initializer
        return self
    }

    public func childChannelInitializer(_ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> Self {
        childInitializer = initializer
        return self
    }

    public func bind(host: String, port: Int) -> EventLoopFuture<Channel> {
        do {
            return bind(to: try NIOCore.SocketAddress.dataplane(host: host, port: port))
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    public func bind(to address: NIOCore.SocketAddress) -> EventLoopFuture<Channel> {
        let childInitializer = self.childInitializer ?? { $0.eventLoop.makeSucceededVoidFuture() }
        let childOptions = self.childOptions
        return bind0(to: address) { server in
            try server.pipeline.syncOperations.addHandler(
                DataplaneAcceptHandler(childInitializer: childInitializer, childOptions: childOptions))
            return server as Channel
        }
    }

    /// Makes, configures and binds the listener; `finish` adds the accept
    /// side (runs on its loop). Given a whole group of several cores, every
    /// core listens (SO_REUSEPORT: the port's RSS spreads connections over
    /// the cores, and a core's connections can only be accepted by its own
    /// stack); the first core's listener is the server channel, the others
    /// hand their connections to its pipeline, and close with it.
    private func bind0<Result: Sendable>(to address: NIOCore.SocketAddress,
                                         finish: @escaping @Sendable (DataplaneServerSocketChannel) throws -> Result)
        -> EventLoopFuture<Result> {
        let loops: [DataplaneEventLoop]
        if let group = group as? DataplaneEventLoopGroup {
            loops = group.loops
        } else if let loop = group.next() as? DataplaneEventLoop {
            loops = [loop]
        } else {
            return group.next().makeFailedFuture(DataplaneNIOError.notADataplaneGroup(group))
        }
        var options = self.serverOptions
        // NIOCore names no SO_REUSEPORT on every platform: the Linux number.
        if loops.count > 1 { options.append(key: ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)), value: 1) }
        let serverOptions = options
        let serverInitializer = self.serverInitializer ?? { $0.eventLoop.makeSucceededVoidFuture() }
        let primaryLoop = loops[0]
        let primary = primaryLoop.flatSubmit { () -> EventLoopFuture<(DataplaneServerSocketChannel, Result)> in
            let server: DataplaneServerSocketChannel
            do { server = try DataplaneServerSocketChannel(loop: primaryLoop, family: address.dataplaneFamily) } catch { return primaryLoop.makeFailedFuture(error) }
            return serverOptions.applyAllChannelOptions(to: server).flatMap {
                serverInitializer(server)
            }.flatMapThrowing {
                try finish(server)
            }.flatMap { result in
                server.register().flatMap { server.bind(to: address) }.map { (server, result) }
            }.flatMapError { error in
                server.close(promise: nil)
                return primaryLoop.makeFailedFuture(error)
            }
        }
        guard loops.count > 1 else { return primary.map { $0.1 } }
        return primary.flatMap { server, result in
            let others = loops.dropFirst().map { loop in
                Self.bindForwarding(on: loop, to: address, options: serverOptions, primary: server)
            }
            return EventLoopFuture.whenAllSucceed(others, on: primaryLoop).map { listeners in
                server.closeFuture.whenComplete { _ in for listener in listeners { listener.close(promise: nil) } }
                return result
            }.flatMapError { error in
                server.close(promise: nil)
                return primaryLoop.makeFailedFuture(error)
            }
        }
    }

    /// A listener on another core whose accepted connections go to `primary`'s pipeline.
    private static func bindForwarding(on loop: DataplaneEventLoop, to address: NIOCore.SocketAddress,
                                       options: ChannelOptions.Storage, primary: Channel) -> EventLoopFuture<Channel> {
        loop.flatSubmit {
            let listener: DataplaneServerSocketChannel
            do { listener = try DataplaneServerSocketChannel(loop: loop, family: address.dataplaneFamily) } catch { return loop.makeFailedFuture(error) }
            return options.applyAllChannelOptions(to: listener).flatMapThrowing {
                try listener.pipeline.syncOperations.addHandler(ForwardAccepted(primary: primary))
            }.flatMap {
                listener.register()
            }.flatMap {
                listener.bind(to: address)
            }.map {
                listener as Channel
            }.flatMapError { error in
                listener.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
        }
    }

    // MARK: Async (NIOAsyncChannel)

    /// Binds and gives the listener as an async sequence of connections,
    /// each what `childChannelInitializer` made of it (usually a
    /// `NIOAsyncChannel`), as NIOPosix's `bind(host:port:childChannelInitializer:)`.
    public func bind<Output: Sendable>(
        host: String, port: Int,
        serverBackPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark? = nil,
        childChannelInitializer: @escaping @Sendable (Channel) -> EventLoopFuture<Output>
    ) async throws -> NIOAsyncChannel<Output, Never> {
        let address = try NIOCore.SocketAddress.dataplane(host: host, port: port)
        let childOptions = self.childOptions
        return try await bind0(to: address) { server in
            try server.pipeline.syncOperations.addHandler(
                DataplaneAcceptHandler(childInitializer: nil, childOptions: childOptions))
            // NIOPosix's own path: the listener's reads become the child
            // initializer's results on the child's loop.
            return try NIOAsyncChannel<Output, Never>._wrapAsyncChannelWithTransformations(
                wrappingChannelSynchronously: server,
                backPressureStrategy: serverBackPressureStrategy,
                channelReadTransformation: { child in
                    child.eventLoop.flatSubmit { childChannelInitializer(child) }.flatMap { output in
                        child.eventLoop.submit {
                            (child as! DataplaneChannel).registerAlreadyConfigured0(promise: nil)
                            return output
                        }
                    }
                })
        }.get()
    }
}

@available(*, unavailable)
extension DataplaneServerBootstrap: Sendable {}

/// On the listener: each accepted channel gets its options and initializer,
/// then is registered active (autoRead starts its reads). With no
/// initializer (the async bind) the channel goes on down the pipeline to
/// the async wrapper, which initializes and registers it.
final class DataplaneAcceptHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    private let childInitializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?
    private let childOptions: ChannelOptions.Storage

    init(childInitializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?, childOptions: ChannelOptions.Storage) {
        self.childInitializer = childInitializer
        self.childOptions = childOptions
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        guard let childInitializer else {
            // Options now; initialization and registration by the async wrapper.
            childOptions.applyAllChannelOptions(to: child).whenComplete { result in
                if case .failure = result { child.close(promise: nil) }
            }
            context.fireChannelRead(data)
            return
        }
        // The child may be of another core (a connection another core's
        // listener accepted): it is registered on its own loop.
        let serverLoop = context.eventLoop
        let boundContext = NIOLoopBound(context, eventLoop: serverLoop)
        childOptions.applyAllChannelOptions(to: child).flatMap {
            childInitializer(child)
        }.hop(to: child.eventLoop).whenComplete { result in
            switch result {
            case .success:
                (child as! DataplaneChannel).registerAlreadyConfigured0(promise: nil)
            case .failure(let error):
                child.close(promise: nil)
                serverLoop.execute { boundContext.value.fireErrorCaught(error) }
            }
        }
    }
}

/// On a listener of another core: its connections become reads of the
/// server channel (on the first core's loop), as NIOPosix's child
/// channels of another loop do.
final class ForwardAccepted: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Channel

    private let primary: Channel

    init(primary: Channel) { self.primary = primary }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        primary.pipeline.fireChannelRead(unwrapInboundIn(data))
    }
}

/// Errors of the NIO transport itself (socket errors are `IOError`s).
public enum DataplaneNIOError: Error, CustomStringConvertible {
    /// A bootstrap was given a group whose loops are not data-plane cores.
    case notADataplaneGroup(EventLoopGroup)

    public var description: String {
        switch self {
        case .notADataplaneGroup(let group):
            return "\(group) is not a DataplaneEventLoopGroup: data-plane bootstraps need its loops (the cores' sockets live there)"
        }
    }
}
