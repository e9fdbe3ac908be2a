import Glibc
import NIOCore
import Sockets

/// A listening TCP socket as a NIO server channel: its reads are accepted
/// connections, each a `DataplaneSocketChannel` on the same loop (a
/// connection's state lives in the stack of the core that accepted it).
final class DataplaneServerSocketChannel: DataplaneChannel, @unchecked Sendable {
    // @unchecked: as DataplaneChannel, all state is the loop's.

    private var backlog: Int32 = 128

    /// A listening socket of `family` (AF_INET6: dual-stack unless IPV6_V6ONLY).
    convenience init(loop: DataplaneEventLoop, family: Int32 = AF_INET) throws {
        let descriptor: Int32
        do {
            descriptor = try loop.sockets.socket(domain: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), protocol: 0)
        } catch { throw error.nio }
        self.init(loop: loop, descriptor: descriptor, parent: nil)
    }

    override var isWritable: Bool { false }

    override func setOption0<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
        switch option {
        case is ChannelOptions.Types.BacklogOption: backlog = value as! Int32
        default: try super.setOption0(option, value: value)
        }
    }

    override func getOption0<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
        switch option {
        case is ChannelOptions.Types.BacklogOption: return backlog as! Option.Value
        default: return try super.getOption0(option)
        }
    }

    /// bind + listen, then active (as NIOPosix's ServerSocketChannel).
    override func bind0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        guard !isActive else { return (promise?.fail(ChannelError.inappropriateOperationForState)) ?? () }
        guard attempt(promise, {
            try sockets.bind(descriptor, nio: address)
            try sockets.listen(descriptor, backlog: Int(backlog))
        }) else { return }
        becomeActive(promise)
    }

    override func ready(_ events: PollEvents) {
        guard events.contains(.input) else { return }
        accept()
    }

    /// Accepts up to maxMessagesPerRead connections, each a channel read.
    private func accept() {
        guard readPending else { return }
        readPending = false
        var accepted: UInt = 0
        while accepted < maxMessagesPerRead && isOpen {
            let child: Int32
            do {
                child = try sockets.accept(descriptor).descriptor
                try sockets.setNonBlocking(child, true)
            } catch {
                if error.isWouldBlock { break }
                // A full socket table (EMFILE, ENOMEM) is the server's
                // trouble, not the listener's: report it and keep listening.
                pipeline.syncOperations.fireErrorCaught(error.nio)
                break
            }
            accepted += 1
            let channel = DataplaneSocketChannel(loop: loop, descriptor: child, parent: self)
            pipeline.syncOperations.fireChannelRead(NIOAny(channel as Channel))
        }
        if accepted > 0 && isOpen { pipeline.syncOperations.fireChannelReadComplete() }
        readIfNeeded()
        updateInterest()
    }

    override func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }
}
