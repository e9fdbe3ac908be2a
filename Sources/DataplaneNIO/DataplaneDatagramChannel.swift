import Glibc
import NIOCore
import Sockets

/// A UDP socket as a NIO datagram channel: reads are
/// `AddressedEnvelope<ByteBuffer>` (each datagram copied once, from its
/// packet into a buffer of the channel's RecvByteBufferAllocator), writes
/// are envelopes (or plain buffers once connected), sent at flush, each
/// copied once into a new packet. A datagram that cannot be sent (no
/// buffers, no route, too long) fails its own write; the channel stays open.
final class DataplaneDatagramChannel: DataplaneChannel, @unchecked Sendable {
    // @unchecked: as DataplaneChannel, all state is the loop's.

    private var unflushed: [(data: NIOAny, promise: EventLoopPromise<Void>?)] = []
    private var connected = false

    /// A UDP socket of `family` (AF_INET6: dual-stack unless IPV6_V6ONLY).
    convenience init(loop: DataplaneEventLoop, family: Int32 = AF_INET) throws {
        let descriptor: Int32
        do {
            descriptor = try loop.sockets.socket(domain: family, type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), protocol: 0)
        } catch { throw error.nio }
        self.init(loop: loop, descriptor: descriptor, parent: nil)
        // Datagrams are small: NIOPosix's DatagramBootstrap reads into 2 KiB buffers too.
        recvAllocator = FixedSizeRecvByteBufferAllocator(capacity: 2048)
    }

    override func bind0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        guard attempt(promise, { try sockets.bind(descriptor, nio: address) }) else { return }
        becomeActive(promise)
    }

    override func connect0(to address: NIOCore.SocketAddress, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        guard attempt(promise, { try sockets.connect(descriptor, to: try ConnectAddress(nio: address)) }) else { return }
        connected = true
        if isActive {
            refreshAddresses()
            promise?.succeed(())
        } else {
            becomeActive(promise)
        }
    }

    override func ready(_ events: PollEvents) {
        if events.contains(.input) && isOpen { readFromSocket() }
        if events.contains(.error) && isOpen {
            // An ICMP error (port unreachable on a connected socket): taken
            // here, as SO_ERROR takes it, so the level-triggered report ends.
            var code: Int32 = 0
            _ = try? withUnsafeMutableBytes(of: &code) { bytes throws(SocketError) in
                try sockets.getOption(descriptor, level: SOL_SOCKET, name: SO_ERROR, into: bytes)
            }
            if code != 0 { pipeline.syncOperations.fireErrorCaught(IOError(errnoCode: code, reason: "datagram to \(remoteAddress.map { "\($0)" } ?? "the peer")")) }
        }
    }

    private func readFromSocket() {
        guard readPending else { return }
        readPending = false
        var reads: UInt = 0
        while reads < maxMessagesPerRead && isOpen {
            var buffer = recvAllocator.buffer(allocator: allocator)
            var source: InternetSocketAddress?
            do {
                let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { bytes throws(SocketError) in
                    let result = try sockets.receive(descriptor, into: bytes, flags: .dontWait)
                    source = result.address ?? result.source.map(InternetSocketAddress.v4)
                    return result.count
                }
                _ = recvAllocator.record(actualReadBytes: count)
            } catch {
                if error.isWouldBlock { break }
                // A refused datagram earlier is reported; the socket stays usable.
                pipeline.syncOperations.fireErrorCaught(error.nio)
                break
            }
            reads += 1
            let remote = source?.nio ?? remoteAddress ?? (try! NIOCore.SocketAddress(ipAddress: "0.0.0.0", port: 0))
            pipeline.syncOperations.fireChannelRead(NIOAny(AddressedEnvelope(remoteAddress: remote, data: buffer)))
        }
        if reads > 0 && isOpen { pipeline.syncOperations.fireChannelReadComplete() }
        guard isOpen else { return }
        readIfNeeded()
        updateInterest()
    }

    override func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard isOpen else { return (promise?.fail(ChannelError.ioOnClosedChannel)) ?? () }
        unflushed.append((data, promise))
    }

    override func flush0() {
        guard isOpen else { return }
        let writes = unflushed
        unflushed.removeAll(keepingCapacity: true)
        for write in writes {
            guard isOpen else {
                write.promise?.fail(ChannelError.ioOnClosedChannel)
                continue
            }
            send(write.data, promise: write.promise)
        }
    }

    private func send(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer: ByteBuffer
        var target: InternetSocketAddress?
        if let envelope = tryUnwrapData(data, as: AddressedEnvelope<ByteBuffer>.self) {
            buffer = envelope.data
            do {
                switch try ConnectAddress(nio: envelope.remoteAddress) {
                case .inet(let v4): target = .v4(v4)
                case .inet6(let v6): target = .v6(v6)
                case .unspecified: target = nil
                }
            } catch {
                promise?.fail(error)
                return
            }
        } else if let bytes = tryUnwrapData(data, as: ByteBuffer.self), connected {
            buffer = bytes
        } else {
            promise?.fail(ChannelError.operationUnsupported)  // a buffer without an address needs connect first
            return
        }
        do {
            _ = try buffer.withUnsafeReadableBytes { bytes throws(SocketError) in
                try sockets.send(descriptor, bytes, flags: [.dontWait, .noSignal], destination: target)
            }
            promise?.succeed(())
        } catch {
            promise?.fail(error.nio)
        }
    }

    override func failPending(_ error: Error) {
        let writes = unflushed
        unflushed.removeAll()
        for write in writes { write.promise?.fail(ChannelError.ioOnClosedChannel) }
    }
}
