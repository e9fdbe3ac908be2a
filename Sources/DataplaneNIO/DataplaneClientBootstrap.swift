import NIOCore
import Sockets

/// A TCP client on the data plane, shaped like NIOPosix's `ClientBootstrap`:
///
///     let channel = try DataplaneClientBootstrap(group: group)
///         .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
///         .channelInitializer { channel in channel.pipeline.addHandler(MyHandler()) }
///         .connect(host: "10.0.0.2", port: 7).wait()
public final class DataplaneClientBootstrap {
    private let group: EventLoopGroup
    private var options = ChannelOptions.Storage()
    private var initializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?
    private var connectTimeout = TimeAmount.seconds(10)
    private var localAddress: NIOCore.SocketAddress?

    public init(group: EventLoopGroup) {
        self.group = group
        // As NIOPosix: no Nagle delay unless the program turns it back on.
        options.append(key: ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
    }

    public func channelOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> Self {
        options.append(key: option, value: value)
        return self
    }

    public func channelInitializer(_ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> Self {
        self.initializer = initializer
        return self
    }

    /// Fails the connect with `ChannelError.connectTimeout` after `timeout` (10 s by default, as NIOPosix).
    public func connectTimeout(_ timeout: TimeAmount) -> Self {
        connectTimeout = timeout
        return self
    }

    /// Binds the socket to `address` before connecting.
    public func bind(to address: NIOCore.SocketAddress) -> Self {
        localAddress = address
        return self
    }

    public func connect(host: String, port: Int) -> EventLoopFuture<Channel> {
        do {
            return connect(to: try NIOCore.SocketAddress.dataplane(host: host, port: port))
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    public func connect(to address: NIOCore.SocketAddress) -> EventLoopFuture<Channel> {
        let initializer = self.initializer ?? { $0.eventLoop.makeSucceededVoidFuture() }
        return connect0(to: address) { channel in
            initializer(channel).map { channel as Channel }
        }
    }

    /// Connects and gives what `channelInitializer` made of the channel
    /// (usually a `NIOAsyncChannel`), as NIOPosix's async `connect`.
    public func connect<Output: Sendable>(
        host: String, port: Int,
        channelInitializer: @escaping @Sendable (Channel) -> EventLoopFuture<Output>
    ) async throws -> Output {
        let address = try NIOCore.SocketAddress.dataplane(host: host, port: port)
        let initializer = self.initializer ?? { $0.eventLoop.makeSucceededVoidFuture() }
        return try await connect0(to: address) { channel in
            initializer(channel).flatMap { channelInitializer(channel) }
        }.get()
    }

    private func connect0<Output: Sendable>(to address: NIOCore.SocketAddress,
                                            initialize: @escaping @Sendable (Channel) -> EventLoopFuture<Output>)
        -> EventLoopFuture<Output> {
        guard let loop = group.next() as? DataplaneEventLoop else {
            return group.next().makeFailedFuture(DataplaneNIOError.notADataplaneGroup(group))
        }
        let options = self.options
        let timeout = connectTimeout
        let localAddress = self.localAddress
        return loop.flatSubmit {
            let channel: DataplaneSocketChannel
            do { channel = try DataplaneSocketChannel(loop: loop, family: address.dataplaneFamily) } catch { return loop.makeFailedFuture(error) }
            return channel.setOption(ChannelOptions.connectTimeout, value: timeout).flatMap {
                options.applyAllChannelOptions(to: channel)
            }.flatMap {
                initialize(channel)
            }.flatMap { output in
                channel.register().flatMap {
                    localAddress.map { channel.bind(to: $0) } ?? loop.makeSucceededVoidFuture()
                }.flatMap {
                    channel.connect(to: address)
                }.map { output }
            }.flatMapError { error in
                channel.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
        }
    }
}

@available(*, unavailable)
extension DataplaneClientBootstrap: Sendable {}
