import NIOCore
import Sockets
import Stack

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
    /// most `scratch.count`; empty ones left out) to lend to the socket: each
    /// is given with its storage retained once more, and `body` returns how
    /// many, from the first, the send ring took (it releases those when
    /// their bytes are acknowledged); the rest are released here.
    func withFlushedLent(_ scratch: UnsafeMutableBufferPointer<LentBytes>,
                         _ body: (UnsafeBufferPointer<LentBytes>) throws(SocketError) -> (bytes: Int, borrowed: Int))
        throws(SocketError) -> Int {
        var lent = 0
        var index = writes.startIndex
        for _ in 0..<flushedCount where lent < scratch.count {
            writes[index].buffer.withUnsafeReadableBytesWithStorageManagement { bytes, storage in
                guard !bytes.isEmpty else { return }
                scratch[lent] = LentBytes(bytes: bytes, release: releaseByteBufferStorage,
                                                 context: storage.retain().toOpaque())
                lent += 1
            }
            index = writes.index(after: index)
        }
        var taken = 0
        defer {
            for i in taken..<lent { Unmanaged<AnyObject>.fromOpaque(scratch[i].context!).release() }
        }
        let result = try body(UnsafeBufferPointer(rebasing: scratch[0..<lent]))
        taken = result.borrowed
        return result.bytes
    }

    /// `count` bytes of the flushed writes went into the socket, in order:
    /// the promises of the writes that finished, in order (writes without
    /// one leave none: the usual flush then allocates no array).
    mutating func consumed(_ count: Int) -> [EventLoopPromise<Void>] {
        var left = count
        var finished: [EventLoopPromise<Void>] = []
        bytes -= count
        while flushedCount > 0 {
            let size = writes.first!.buffer.readableBytes
            if size > left {
                writes[writes.startIndex].buffer.moveReaderIndex(forwardBy: left)
                break
            }
            left -= size
            if let promise = writes.removeFirst().promise { finished.append(promise) }
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

/// A lent `ByteBuffer`'s release: the send ring calls it (on the loop's
/// thread) once the bytes are acknowledged or the connection is freed.
private let releaseByteBufferStorage: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    Unmanaged<AnyObject>.fromOpaque(context!).release()
}
