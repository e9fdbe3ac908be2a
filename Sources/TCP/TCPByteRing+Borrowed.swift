/// Memory a `TCPByteRing` may hold as a chunk of its own instead of copying
/// it: the application's written buffers in the send ring (kept until they
/// are acknowledged, then released; the only copy is chunk → packet at
/// segmentation) and a large in-order payload in its packet buffer in the
/// receive ring (released once the application read past it; the only copy
/// is packet → the application's buffer). `release(context)` is called
/// exactly once, when the ring drops the chunk (see `TCPRingChunk`).
public struct TCPBorrowedBytes {
    public var bytes: UnsafeRawBufferPointer
    public var release: @convention(c) (UnsafeMutableRawPointer?) -> Void
    public var context: UnsafeMutableRawPointer?
    /// What the chunk costs the ring's capacity while held (≥ `bytes.count`):
    /// a packet buffer's whole size, as Linux charges an skb's truesize to
    /// SO_RCVBUF, so a window never promises room the buffers do not have.
    public var charge: Int

    public init(bytes: UnsafeRawBufferPointer, charge: Int? = nil,
                release: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, context: UnsafeMutableRawPointer?) {
        self.bytes = bytes
        self.charge = max(charge ?? bytes.count, bytes.count)
        self.release = release
        self.context = context
    }
}

extension TCPByteRing {
    /// Appends `borrowed` as a chunk of its own, not copied. All or nothing:
    /// false (nothing taken, `release` not called; the caller copies instead)
    /// when bytes are written ahead of `count` (out-of-order data waits: the
    /// chunk would have to go between), its charge does not fit in
    /// `capacity` beside what is held, or the core's budget refuses a chunk
    /// header (a borrowed chunk costs the budget its header only).
    public mutating func appendBorrowed(_ borrowed: TCPBorrowedBytes) -> Bool {
        let length = borrowed.bytes.count
        guard length > 0, let base = borrowed.bytes.baseAddress else { return false }
        let position = consumed + count
        guard writtenEnd == position, count + extraCharge + borrowed.charge <= capacity,
              let chunk = cache.takeHeader(start: position) else { return false }
        chunk.pointee.base = UnsafeMutableRawPointer(mutating: base)
        chunk.pointee.capacity = length
        chunk.pointee.release = borrowed.release
        chunk.pointee.releaseContext = borrowed.context
        chunk.pointee.extraCharge = borrowed.charge - length
        if let last = tail {
            // Positions stay consecutive: the tail's unused room is given up.
            last.pointee.capacity = position - last.pointee.start
            last.pointee.next = chunk
        } else {
            head = chunk
        }
        tail = chunk
        count += length
        writtenEnd = position + length
        extraCharge += chunk.pointee.extraCharge
        return true
    }
}
