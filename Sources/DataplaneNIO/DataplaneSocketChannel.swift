import Glibc
import NIOCore
import Sockets
import Stack

/// A TCP connection as a NIO channel: a client's (connect) or a listener's
/// child (accept). Reads copy from the connection's receive ring into a
/// `ByteBuffer` from the channel's RecvByteBufferAllocator, only when the
/// pipeline asked (`read()`); writes copy from the `ByteBuffer` into the
/// send ring as far as it has room, the rest waits for the socket to be
/// writable again, and the pending bytes drive `isWritable`.
final class DataplaneSocketChannel: DataplaneChannel, @unchecked Sendable {
    // @unchecked: as DataplaneChannel, all state is the loop's.

    private var pending = PendingStreamWrites()
    /// The lent send's buffer list (reused: no allocation per flush).
    private let lend = UnsafeMutableBufferPointer<LentBytes>.allocate(capacity: 64)
    private var connectPromise: EventLoopPromise<Void>?
    private var connectTimeout: TimeAmount?
    private var connectTimer: Scheduled<Void>?
    private var allowRemoteHalfClosure = false
    private var inputClosed = false
    private var outputClosed = false
    /// close(mode: .output) waiting for the flushed writes to leave.
    private var outputClosePromise: (promise: EventLoopPromise<Void>?, waiting: Bool)?

    /// A new unconnected TCP socket of `family` on `loop`'s core.
    convenience init(loop: DataplaneEventLoop, family: Int32 = AF_INET) throws {
        let descriptor: Int32
        do {
            descriptor = try loop.sockets.socket(domain: family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), protocol: 0)
        } catch { throw error.nio }
        self.init(loop: loop, descriptor: descriptor, parent: nil)
    }

    deinit { lend.deallocate() }

    // MARK: Options

    override func setOption0<Option: ChannelOption>(_ option: Option, value: Option.Value) throws {
        switch option {
        case is ChannelOptions.Types.AllowRemoteHalfClosureOption:
            allowRemoteHalfClosure = value as! Bool
        case is ChannelOptions.Types.WriteBufferWaterMarkOption:
            pending.waterMark = value as! ChannelOptions.Types.WriteBufferWaterMark
            updateWritability()
        case is ChannelOptions.Types.ConnectTimeoutOption:
            connectTimeout = value as? TimeAmount
        default:
            try super.setOption0(option, value: value)
        }
    }

    override func getOption0<Option: ChannelOption>(_ option: Option) throws -> Option.Value {
        switch option {
        case is ChannelOptions.Types.AllowRemoteHalfClosureOption: return allowRemoteHalfClosure as! Option.Value
        case is ChannelOptions.Types.WriteBufferWaterMarkOption: return pending.waterMark as! Option.Value
        case is ChannelOptions.Types.ConnectTimeoutOption: return connectTimeout as! Option.Value
        case is ChannelOptions.Types.BufferedWritableBytesOption: return pending.bytes as! Option.Value
        default: return try super.getOption0(option)
        }
    }

    // MARK: Connect

    override func bind0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        guard attempt(promise, { try sockets.bind(descriptor, nio: address) }) else { return }
        refreshAddresses()
        promise?.succeed(())
    }

    override func connect0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        guard connectPromise == nil else { return (promise?.fail(ChannelError.connectPending)) ?? () }
        guard !isActive else { return (promise?.fail(ChannelError.inappropriateOperationForState)) ?? () }
        let target: ConnectAddress
        do { target = try ConnectAddress(nio: address) } catch {
            promise?.fail(error)
            return
        }
        do {
            try sockets.connect(descriptor, to: target)
            becomeActive(promise)
        } catch {
            guard error.errno == .nowInProgress else {
                promise?.fail(error.nio)
                close0(error: error.nio, mode: .all, promise: nil)
                return
            }
            connectPromise = promise ?? loop.makePromise()
            if let connectTimeout {
                connectTimer = loop.scheduleTask(in: connectTimeout) { [self] in
                    guard connectPromise != nil else { return }
                    close0(error: ChannelError.connectTimeout(connectTimeout), mode: .all, promise: nil)
                }
            }
            watch()
        }
    }

    /// The handshake ended: SO_ERROR tells how.
    private func finishConnect() {
        guard let promise = connectPromise else { return }
        connectPromise = nil
        connectTimer?.cancel()
        connectTimer = nil
        var code: Int32 = 0
        _ = try? withUnsafeMutableBytes(of: &code) { bytes throws(SocketError) in
            try sockets.getOption(descriptor, level: SOL_SOCKET, name: SO_ERROR, into: bytes)
        }
        if code != 0 {
            let error = IOError(errnoCode: code, reason: "connect to \(remoteAddressText)")
            promise.fail(error)
            close0(error: error, mode: .all, promise: nil)
            return
        }
        becomeActive(promise)
    }

    private var remoteAddressText: String {
        (try? sockets.peerAddress(descriptor).description) ?? "the peer"
    }

    // MARK: Readiness

    override func wantedEvents() -> PollEvents {
        if connectPromise != nil { return .output }
        var events: PollEvents = []
        if readPending && !inputClosed { events.insert(.input) }
        if pending.hasFlushed && !outputClosed { events.insert(.output) }
        return events
    }

    override func ready(_ events: PollEvents) {
        if connectPromise != nil {
            finishConnect()
            return
        }
        if events.contains(.output) && isOpen { writeFlushed() }
        if events.contains(.input) && isOpen { readFromSocket() }
        guard isOpen else { return }
        if events.contains(.error) {
            var code: Int32 = 0
            _ = try? withUnsafeMutableBytes(of: &code) { bytes throws(SocketError) in
                try sockets.getOption(descriptor, level: SOL_SOCKET, name: SO_ERROR, into: bytes)
            }
            fail(IOError(errnoCode: code == 0 ? ECONNRESET : code, reason: "connection to \(remoteAddressText)"))
        } else if events.contains(.hangUp) {
            // Both directions are over (level-triggered: it would be reported every turn).
            close0(error: ChannelError.eof, mode: .all, promise: nil)
        }
    }

    /// An I/O error: the pipeline hears of it, then the channel closes.
    private func fail(_ error: Error) {
        pipeline.syncOperations.fireErrorCaught(error)
        close0(error: error, mode: .all, promise: nil)
    }

    // MARK: Read

    private func readFromSocket() {
        guard readPending, !inputClosed else { return }
        readPending = false
        var reads: UInt = 0
        var endOfStream = false
        reading: while reads < maxMessagesPerRead && isOpen {
            // A pooled buffer (reused when the pipeline let go of it), or a new one.
            let (buffer, received) = recvBufferPool.buffer(allocator: allocator) { receive(into: &$0) }
            let count: Int
            switch received {
            case .success(let bytes): count = bytes
            case .failure(let error):
                if error.isWouldBlock { break reading }
                if reads > 0 { pipeline.syncOperations.fireChannelReadComplete() }
                fail(error.nio)
                return
            }
            if count == 0 {
                endOfStream = true
                break
            }
            reads += 1
            let full = buffer.writableBytes == 0
            recvBufferPool.record(actualReadBytes: count)
            pipeline.syncOperations.fireChannelRead(NIOAny(buffer))
            if !full { break }  // the ring is drained
        }
        if reads > 0 && isOpen { pipeline.syncOperations.fireChannelReadComplete() }
        guard isOpen else { return }
        if endOfStream {
            inputEnded()
            return
        }
        readIfNeeded()
        updateInterest()
    }

    /// One non-blocking receive into `buffer`'s writable bytes.
    private func receive(into buffer: inout ByteBuffer) -> Result<Int, SocketError> {
        do {
            return .success(try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { bytes throws(SocketError) in
                try sockets.receive(descriptor, into: bytes, flags: .dontWait).count
            })
        } catch {
            return .failure(error)
        }
    }

    /// The peer's FIN: with half-closure allowed the input closes alone.
    private func inputEnded() {
        guard allowRemoteHalfClosure else {
            close0(error: ChannelError.eof, mode: .all, promise: nil)
            return
        }
        inputClosed = true
        updateInterest()
        pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        if outputClosed && isOpen { close0(error: ChannelError.eof, mode: .all, promise: nil) }
    }

    // MARK: Write

    override func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        guard !outputClosed, outputClosePromise == nil else { return (promise?.fail(ChannelError.outputClosed)) ?? () }
        let buffer: ByteBuffer
        switch unwrapData(data, as: IOData.self) {
        case .byteBuffer(let bytes): buffer = bytes
        case .fileRegion:
            promise?.fail(ChannelError.operationUnsupported)  // no sendfile: the data plane has no files
            return
        }
        pending.append(buffer, promise: promise)
        updateWritability()
    }

    override func flush0() {
        guard isOpen, isActive else { return }
        pending.markFlushed()
        writeFlushed()
    }

    /// Moves flushed writes into the send ring until it is full: up to 64
    /// buffers in one gathered send (writev), so TCP's output runs once
    /// and small writes (an HTTP head and body) share a segment.
    private func writeFlushed() {
        while pending.hasFlushed && isOpen {
            var offered = 0
            let count: Int
            do {
                // Lent, not copied: the send ring keeps each ByteBuffer until it is acknowledged.
                count = try pending.withFlushedLent(lend) { buffers throws(SocketError) in
                    offered = buffers.reduce(0) { $0 + $1.bytes.count }
                    return offered == 0 ? (0, 0) : try sockets.send(descriptor, borrowing: buffers, flags: [.dontWait, .noSignal])
                }
            } catch {
                if error.isWouldBlock { break }
                fail(error.nio)
                return
            }
            for promise in pending.consumed(count) { promise.succeed(()) }
            if count < offered { break }  // the send ring is full: wait for .output
        }
        guard isOpen else { return }
        updateWritability()
        if !pending.hasFlushed, let close = outputClosePromise, close.waiting {
            outputClosePromise = nil
            shutdownOutput(close.promise)
        }
        updateInterest()
    }

    private func updateWritability() {
        let writable = isWritable
        if writable && pending.bytes > pending.waterMark.high {
            writableFlag.store(false, ordering: .releasing)
            pipeline.syncOperations.fireChannelWritabilityChanged()
        } else if !writable && pending.bytes < pending.waterMark.low {
            writableFlag.store(true, ordering: .releasing)
            pipeline.syncOperations.fireChannelWritabilityChanged()
        }
    }

    // MARK: Close

    override func close0(error: Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .all:
            closeAll(error: error, promise: promise)
        case .output:
            guard isOpen else { return (promise?.fail(ChannelError.alreadyClosed)) ?? () }
            guard isActive else { return (promise?.fail(ChannelError.inappropriateOperationForState)) ?? () }
            guard !outputClosed, outputClosePromise == nil else { return (promise?.fail(ChannelError.outputClosed)) ?? () }
            for unflushed in pending.removeUnflushed() { unflushed.fail(ChannelError.outputClosed) }
            if pending.hasFlushed {
                // The FIN goes after the bytes already flushed, as a kernel's does.
                outputClosePromise = (promise, true)
            } else {
                shutdownOutput(promise)
            }
        case .input:
            guard isOpen else { return (promise?.fail(ChannelError.alreadyClosed)) ?? () }
            guard isActive, !inputClosed else { return (promise?.fail(ChannelError.inputClosed)) ?? () }
            inputClosed = true
            readPending = false
            try? sockets.shutdown(descriptor, how: Int32(SHUT_RD))
            promise?.succeed(())
            updateInterest()
            pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            if outputClosed && isOpen { close0(error: ChannelError.eof, mode: .all, promise: nil) }
        }
    }

    private func shutdownOutput(_ promise: EventLoopPromise<Void>?) {
        do {
            try sockets.shutdown(descriptor, how: Int32(SHUT_WR))
        } catch {
            promise?.fail(error.nio)
            return
        }
        outputClosed = true
        promise?.succeed(())
        updateInterest()
        pipeline.syncOperations.fireUserInboundEventTriggered(ChannelEvent.outputClosed)
        if inputClosed && isOpen { close0(error: ChannelError.eof, mode: .all, promise: nil) }
    }

    override func failPending(_ error: Error) {
        connectTimer?.cancel()
        connectTimer = nil
        if let connect = connectPromise {
            connectPromise = nil
            connect.fail(error)
        }
        if let close = outputClosePromise {
            outputClosePromise = nil
            close.promise?.fail(error)
        }
        let failure: Error = (error as? ChannelError) == .eof ? ChannelError.ioOnClosedChannel : error
        for promise in pending.removeAll() { promise.fail(failure) }
    }
}
