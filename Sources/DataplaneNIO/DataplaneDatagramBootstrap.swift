import NIOCore
import Sockets

/// A UDP socket on the data plane, shaped like NIOPosix's `DatagramBootstrap`:
///
///     let channel = try DataplaneDatagramBootstrap(group: group)
///         .channelInitializer { channel in channel.pipeline.addHandler(EchoHandler()) }
///         .bind(host: "10.0.0.2", port: 7).wait()
///
/// Its reads and writes are `AddressedEnvelope<ByteBuffer>`.
public final class DataplaneDatagramBootstrap {
    private let group: EventLoopGroup
    private var options = ChannelOptions.Storage()
    private var initializer: (@Sendable (Channel) -> EventLoopFuture<Void>)?

    public init(group: EventLoopGroup) {
        self.group = group
    }

    public func channelOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> Self {
        options.append(key: option, value: value)
        return self
    }

    public func channelInitializer(_ initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> Self {
        self.initializer = initializer
        return self
    }

    /// A socket bound to `host:port` (port 0: an ephemeral one).
    public func bind(host: String, port: Int) -> EventLoopFuture<Channel> {
        do {
            let address = try NIOCore.SocketAddress.dataplane(host: host, port: port)
            return make(family: address.dataplaneFamily) { $0.bind(to: address) }
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    /// A socket with a default peer (its reads only from there, writes may be plain buffers).
    public func connect(host: String, port: Int) -> EventLoopFuture<Channel> {
        do {
            let address = try NIOCore.SocketAddress.dataplane(host: host, port: port)
            return make(family: address.dataplaneFamily) { $0.connect(to: address) }
        } catch {
            return group.next().makeFailedFuture(error)
        }
    }

    private func make(family: Int32, _ start: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> EventLoopFuture<Channel> {
        guard let loop = group.next() as? DataplaneEventLoop else {
            return group.next().makeFailedFuture(DataplaneNIOError.notADataplaneGroup(group))
        }
        let options = self.options
        let initializer = self.initializer ?? { $0.eventLoop.makeSucceededVoidFuture() }
        return loop.flatSubmit {
            let channel: DataplaneDatagramChannel
            do { channel = try DataplaneDatagramChannel(loop: loop, family: family) } catch { return loop.makeFailedFuture(error) }
            return options.applyAllChannelOptions(to: channel).flatMap {
                initializer(channel)
            }.flatMap {
                channel.register()
            }.flatMap {
                start(channel)
            }.map {
                channel as Channel
            }.flatMapError { error in
                channel.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
        }
    }
}

@available(*, unavailable)
extension DataplaneDatagramBootstrap: Sendable {}
