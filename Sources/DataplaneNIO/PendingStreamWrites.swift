import NIOCore

/// A TCP channel's writes not yet in the socket: the first `flushedCount`
/// were flushed and go out as the send buffer takes them; the rest wait
/// for a flush. `bytes` counts both, for the write-buffer water marks.
struct PendingStreamWrites {
    struct Write {
        var buffer: ByteBuffer
        var promise: EventLoopPromise<Void>?
    }

    private(set) var writes = CircularBuffer<Write>(initialCapacity: 16)
    private(set) var flushedCount = 0
    private(set) var bytes = 0
    var waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 32 * 1024, high: 64 * 1024)

    var isEmpty: Bool { writes.isEmpty }
    var hasFlushed: Bool { flushedCount > 0 }

    mutating func append(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        writes.append(Write(buffer: buffer, promise: promise))
        bytes += buffer.readableBytes
    }

    mutating func markFlushed() { flushedCount = writes.count }

    /// The first flushed write, when there is one.
    var firstFlushed: ByteBuffer? { flushedCount > 0 ? writes.first!.buffer : nil }

    /// `count` bytes of the first flushed write went into the socket; returns
    /// its promise when that finished it.
    mutating func consumed(_ count: Int) -> (finished: Bool, promise: EventLoopPromise<Void>?) {
        bytes -= count
        writes[writes.startIndex].buffer.moveReaderIndex(forwardBy: count)
        guard writes.first!.buffer.readableBytes == 0 else { return (false, nil) }
        let write = writes.removeFirst()
        flushedCount -= 1
        return (true, write.promise)
    }

    /// Takes every write (closing): their promises are to be failed.
    mutating func removeAll() -> [EventLoopPromise<Void>] {
        let promises = writes.compactMap(\.promise)
        writes.removeAll()
        flushedCount = 0
        bytes = 0
        return promises
    }

    /// Takes the writes that were never flushed (output closed before their flush).
    mutating func removeUnflushed() -> [EventLoopPromise<Void>] {
        var promises: [EventLoopPromise<Void>] = []
        while writes.count > flushedCount {
            let write = writes.removeLast()
            bytes -= write.buffer.readableBytes
            if let promise = write.promise { promises.append(promise) }
        }
        return promises.reversed()
    }
}
