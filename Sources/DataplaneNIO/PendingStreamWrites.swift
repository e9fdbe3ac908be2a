import NIOCore
import Sockets

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

    /// Calls `body` with the readable bytes of the first flushed writes (at
    /// most `scratch.count`), their storage retained meanwhile — the
    /// pointers go to one gathered send, as NIOPosix hands them to writev.
    func withFlushedBytes<Result>(_ scratch: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>,
                                  _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(SocketError) -> Result)
        throws(SocketError) -> Result {
        let count = min(flushedCount, scratch.count)
        var storages: [Unmanaged<AnyObject>] = []
        storages.reserveCapacity(count)
        for i in 0..<count {
            writes[writes.index(writes.startIndex, offsetBy: i)].buffer.withUnsafeReadableBytesWithStorageManagement { bytes, storage in
                scratch[i] = bytes
                storages.append(storage.retain())
            }
        }
        defer { for storage in storages { storage.release() } }
        return try body(UnsafeBufferPointer(rebasing: scratch[0..<count]))
    }

    /// `count` bytes of the flushed writes went into the socket, in order:
    /// the promises of the writes that finished, in order, and whether all
    /// flushed writes are gone.
    mutating func consumed(_ count: Int) -> [EventLoopPromise<Void>?] {
        var left = count
        var finished: [EventLoopPromise<Void>?] = []
        bytes -= count
        while flushedCount > 0 {
            let size = writes.first!.buffer.readableBytes
            if size > left {
                writes[writes.startIndex].buffer.moveReaderIndex(forwardBy: left)
                break
            }
            left -= size
            finished.append(writes.removeFirst().promise)
            flushedCount -= 1
        }
        return finished
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
