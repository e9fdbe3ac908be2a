import Atomics
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import Sockets

/// What the TCP, listening and UDP channels share: the socket on its core,
/// the pipeline, open/active/writable state readable from any thread, the
/// interest-set registration and the full close. Every `...0` method runs
/// on the loop (NIO's pipeline guarantees it).
class DataplaneChannel: Channel, ChannelCore, LoopSelectable, @unchecked Sendable {
    // @unchecked: mutable state is touched only on `loop`'s thread; what other
    // threads read (open, active, writable, addresses) is atomic or locked.

    let loop: DataplaneEventLoop
    let descriptor: Int32
    let parent: Channel?
    private var _pipeline: ChannelPipeline!
    let closePromise: EventLoopPromise<Void>
    private(set) var allocator = ByteBufferAllocator()

    private let openFlag = ManagedAtomic(true)
    let activeFlag = ManagedAtomic(false)
    let writableFlag = ManagedAtomic(true)
    private let addresses = NIOLockedValueBox<(local: NIOCore.SocketAddress?, remote: NIOCore.SocketAddress?)>((nil, nil))

    /// Registered with NIO (channelRegistered fired).
    var registered = false
    /// The socket's token in the loop's interest set, once it is watched.
    private var token: UInt64?
    private var interest: PollEvents = []

    // Reading, as NIO's socket channels do it.
    var autoRead = true
    var readPending = false
    var maxMessagesPerRead: UInt = 4 {
        didSet { recvBufferPool.updateCapacity(to: Int(maxMessagesPerRead)) }
    }
    /// Read buffers, reused while the pipeline let go of them (NIOPosix's
    /// pool too): a request read costs no allocation when its handler is
    /// done with the buffer by the next read.
    var recvBufferPool = NIOPooledRecvBufferAllocator(capacity: 4, recvAllocator: AdaptiveRecvByteBufferAllocator())
    var recvAllocator: any RecvByteBufferAllocator {
        get { recvBufferPool.recvAllocator }
        set { recvBufferPool.recvAllocator = newValue }
    }

    init(loop: DataplaneEventLoop, descriptor: Int32, parent: Channel?) {
        self.loop = loop
        self.descriptor = descriptor
        self.parent = parent
        closePromise = loop.makePromise()
        _pipeline = ChannelPipeline(channel: self)
    }

    var sockets: SocketCore { loop.sockets }
    var isOpen: Bool { openFlag.load(ordering: .acquiring) }

    // MARK: Channel

    var pipeline: ChannelPipeline { _pipeline }
    var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }
    var eventLoop: EventLoop { loop }
    var localAddress: NIOCore.SocketAddress? { addresses.withLockedValue { $0.local } }
    var remoteAddress: NIOCore.SocketAddress? { addresses.withLockedValue { $0.remote } }
    var isWritable: Bool { writableFlag.load(ordering: .acquiring) }
    var isActive: Bool { activeFlag.load(ordering: .acquiring) }
    var _channelCore: ChannelCore { self }
    var syncOptions: NIOSynchronousChannelOptions? { SynchronousOptions(channel: self) }

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        if loop.inEventLoop { return loop.makeCompletedFuture { try setOption0(option, value: value) } }
        return loop.submit { try self.setOption0(option, value: value) }
    }

    func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        if loop.inEventLoop { return loop.makeCompletedFuture { try getOption0(option) } }
        return loop.submit { try self.getOption0(option) }
    }

    // MARK: Options (the common ones; subclasses add theirs, then call these)

    func setOption0<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
        loop.preconditionInEventLoop()
        switch option {
        case let socketOption as ChannelOptions.Types.SocketOption:
            try setSocketOption(socketOption, value as! SocketOptionValue)
        case is ChannelOptions.Types.AllocatorOption:
            allocator = value as! ByteBufferAllocator
        case is ChannelOptions.Types.RecvAllocatorOption:
            recvAllocator = value as! any RecvByteBufferAllocator
        case is ChannelOptions.Types.AutoReadOption:
            let on = value as! Bool
            let was = autoRead
            autoRead = on
            if on && !was && isActive { readIfNeeded() } else if !on { readPending = false; updateInterest() }
        case is ChannelOptions.Types.MaxMessagesPerReadOption:
            maxMessagesPerRead = max(value as! UInt, 1)
        case is ChannelOptions.Types.WriteSpinOption:
            break  // every write already goes as far as the send buffer takes it
        default:
            throw ChannelError.operationUnsupported
        }
    }

    func getOption0<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
        loop.preconditionInEventLoop()
        switch option {
        case let socketOption as ChannelOptions.Types.SocketOption:
            return try socketOptionValue(socketOption) as! Option.Value
        case is ChannelOptions.Types.AllocatorOption: return allocator as! Option.Value
        case is ChannelOptions.Types.RecvAllocatorOption: return recvAllocator as! Option.Value
        case is ChannelOptions.Types.AutoReadOption: return autoRead as! Option.Value
        case is ChannelOptions.Types.MaxMessagesPerReadOption: return maxMessagesPerRead as! Option.Value
        case is ChannelOptions.Types.WriteSpinOption: return UInt(0) as! Option.Value
        default: throw ChannelError.operationUnsupported
        }
    }

    /// The socket's (level, name) for a NIO socket option. NIO spells
    /// TCP_NODELAY both `.tcpOption(.tcp_nodelay)` and, widely, as
    /// `.socketOption(.tcp_nodelay)`, which is SOL_SOCKET with TCP_NODELAY's
    /// number, SO_DEBUG's; the data plane has no SO_DEBUG, so on a TCP
    /// socket that pair means what the program meant: TCP_NODELAY.
    func socketLevelAndName(_ option: ChannelOptions.Types.SocketOption) -> (level: Int32, name: Int32) {
        let level = Int32(option.optionLevel.rawValue)
        let name = Int32(option.optionName.rawValue)
        if level == SOL_SOCKET && name == SO_DEBUG && self is DataplaneSocketChannel {
            return (Int32(IPPROTO_TCP), TCP_NODELAY)
        }
        return (level, name)
    }

    /// setsockopt on the data-plane socket (SO_REUSEADDR, TCP_NODELAY, SO_RCVBUF, ...).
    func setSocketOption(_ option: ChannelOptions.Types.SocketOption, _ value: SocketOptionValue) throws {
        guard isOpen else { throw ChannelError.ioOnClosedChannel }
        var value = value
        let (level, name) = socketLevelAndName(option)
        do {
            try withUnsafeBytes(of: &value) { bytes throws(SocketError) in
                try sockets.setOption(descriptor, level: level, name: name, value: bytes)
            }
        } catch { throw error.nio }
    }

    func socketOptionValue(_ option: ChannelOptions.Types.SocketOption) throws -> SocketOptionValue {
        guard isOpen else { throw ChannelError.ioOnClosedChannel }
        var value: Int32 = 0
        let (level, name) = socketLevelAndName(option)
        do {
            _ = try withUnsafeMutableBytes(of: &value) { bytes throws(SocketError) in
                try sockets.getOption(descriptor, level: level, name: name, into: bytes)
            }
        } catch { throw error.nio }
        return SocketOptionValue(value)
    }

    // MARK: Addresses

    func refreshAddresses() {
        let local = try? sockets.socketName(descriptor).nio
        let remote = try? sockets.peerName(descriptor).nio
        addresses.withLockedValue { $0 = (local ?? $0.local, remote ?? $0.remote) }
    }

    func localAddress0() throws -> NIOCore.SocketAddress {
        guard isOpen else { throw ChannelError.ioOnClosedChannel }
        do { return try sockets.socketName(descriptor).nio } catch { throw error.nio }
    }

    func remoteAddress0() throws -> NIOCore.SocketAddress {
        guard isOpen else { throw ChannelError.ioOnClosedChannel }
        do { return try sockets.peerName(descriptor).nio } catch { throw error.nio }
    }

    // MARK: Registration and readiness

    func register0(promise: EventLoopPromise<Void>?) {
        guard isOpen else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard !registered else {
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        registered = true
        promise?.succeed(())
        pipeline.syncOperations.fireChannelRegistered()
    }

    func registerAlreadyConfigured0(promise: EventLoopPromise<Void>?) {
        // Accepted connections: registered and active at once.
        register0(promise: promise)
        guard isOpen else { return }
        becomeActive()
    }

    /// Runs socket calls for `promise`: a failure fails it (a SocketError as
    /// NIO's IOError with its errno) and returns false.
    func attempt(_ promise: EventLoopPromise<Void>?, _ calls: () throws -> Void) -> Bool {
        do {
            try calls()
            return true
        } catch let error as SocketError {
            promise?.fail(error.nio)
        } catch {
            promise?.fail(error)
        }
        return false
    }

    /// The socket is connected (or listening, or bound for UDP): watch it,
    /// tell the pipeline, start reading when autoRead is on.
    /// Active before `promise` succeeds, so its waiter sees the channel
    /// active with its addresses (as NIOPosix orders it).
    func becomeActive(_ promise: EventLoopPromise<Void>? = nil) {
        refreshAddresses()
        activeFlag.store(true, ordering: .releasing)
        watch()
        promise?.succeed(())
        pipeline.syncOperations.fireChannelActive()
        readIfNeeded()
    }

    func readIfNeeded() {
        if autoRead && isActive && isOpen { pipeline.syncOperations.read() }
    }

    func read0() {
        guard isOpen, isActive else { return }
        if !readPending {
            readPending = true
            updateInterest()
        }
    }

    /// What the channel wants from its socket now.
    func wantedEvents() -> PollEvents { readPending ? .input : [] }

    /// Adds the socket to the loop's interest set (once).
    func watch() {
        guard token == nil, isOpen else { return }
        interest = wantedEvents()
        do {
            token = try loop.register(self, descriptor: descriptor, events: interest)
        } catch {
            close0(error: error.nio, mode: .all, promise: nil)
        }
    }

    func updateInterest() {
        guard let token, isOpen else { return }
        let wanted = wantedEvents()
        guard wanted != interest else { return }
        interest = wanted
        try? loop.reregister(token: token, descriptor: descriptor, events: wanted)
    }

    func ready(_ events: PollEvents) {}

    func closeForShutdown() { close0(error: EventLoopError.shutdown, mode: .all, promise: nil) }

    // MARK: Closing

    func close0(error: Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            promise?.fail(ChannelError.operationUnsupported)
            return
        }
        closeAll(error: error, promise: promise)
    }

    /// What a subclass gives up on close (pending writes, a connect in progress).
    func failPending(_ error: Error) {}

    func closeAll(error: Error, promise: EventLoopPromise<Void>?) {
        guard openFlag.exchange(false, ordering: .acquiringAndReleasing) else {
            promise?.fail(ChannelError.alreadyClosed)
            return
        }
        let wasActive = activeFlag.exchange(false, ordering: .acquiringAndReleasing)
        if let token {
            loop.deregister(token: token, descriptor: descriptor)
            self.token = nil
        }
        // The socket's FIN (or RST) leaves with the close; a socket of a core
        // that already stopped is gone with it.
        if loop.sockets != nil { try? sockets.close(descriptor) }
        readPending = false
        failPending(error)
        promise?.succeed(())
        if wasActive { pipeline.syncOperations.fireChannelInactive() }
        if registered { pipeline.syncOperations.fireChannelUnregistered() }
        loop.execute {
            // Later, as NIOPosix does: handlers may still be walking the pipeline.
            self.removeHandlers(pipeline: self.pipeline)
            self.closePromise.succeed(())
        }
    }

    // MARK: Rarely used core calls

    func bind0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func connect0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func flush0() {}

    func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func channelRead0(_ data: NIOAny) {
        // Reached the pipeline's tail unhandled: dropped, as NIOPosix does.
    }

    func errorCaught0(error: Error) {}
}

/// `syncOptions`: the same options, set on the loop without a future.
struct SynchronousOptions: NIOSynchronousChannelOptions {
    let channel: DataplaneChannel

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
        try channel.setOption0(option, value: value)
    }

    func getOption<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
        try channel.getOption0(option)
    }
}

extension DataplaneChannel: CustomStringConvertible {
    var description: String {
        "\(type(of: self))(descriptor: \(descriptor), loop: \(loop.index), local: \(localAddress.map { "\($0)" } ?? "-"), remote: \(remoteAddress.map { "\($0)" } ?? "-"))"
    }
}
