/// The header at the start of every chunk of a `TCPByteRing`. See the ring's
/// doc comment for the design; the data follows the header (`base`) for a
/// cache chunk, or lies elsewhere for a borrowed one.
public struct TCPRingChunk {
    /// The next chunk of the same ring (nil at the tail); the free list's link in the cache.
    public var next: UnsafeMutablePointer<TCPRingChunk>?
    /// Where this chunk's bytes are, and how many it can hold.
    public var base: UnsafeMutableRawPointer
    public var capacity: Int
    /// Stream position (the ring's own count of bytes ever removed plus
    /// offset) of `base[0]`: chunks of one ring cover consecutive positions.
    public var start: Int
    /// nil for a cache chunk. For borrowed memory: called with `releaseContext`
    /// when the ring drops the chunk (drained or deallocated); the header
    /// itself then goes back to the cache.
    public var release: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    public var releaseContext: UnsafeMutableRawPointer?
    /// What the chunk costs its ring beyond its bytes (a borrowed packet
    /// buffer's unused room; `TCPBorrowedBytes.charge`), 0 otherwise.
    public var extraCharge: Int = 0
    /// Head chunk only: the chunk where the last lookup ended (a later
    /// lookup at or after it starts there, so sequential copies are O(1)).
    var hint: UnsafeMutablePointer<TCPRingChunk>?

    var end: Int { start + capacity }
}

/// One core's chunks for the byte rings of its connections: a free list
/// (memory is taken from the system only when it is empty, so in steady
/// state no chunk costs an allocation) and the core's budget of bytes held
/// by rings. When the budget is used up `take()` returns nil and the rings
/// push back: a smaller receive window, EAGAIN on send. Beyond
/// `cachedChunkLimit` free chunks, drained chunks go back to the system.
///
/// Not thread-safe: one core (one `TCPEndpointTable`) uses it.
public final class TCPChunkCache {
    /// Data bytes per cache chunk.
    public let chunkSize: Int
    /// Bytes of chunks rings may hold at once (a data chunk is charged
    /// `chunkSize`, a borrowed chunk its header, `headerStride`).
    public let budgetBytes: Int
    /// Free chunks kept for reuse; more are returned to the system.
    public let cachedChunkLimit: Int
    private var freeList: UnsafeMutablePointer<TCPRingChunk>?
    public private(set) var freeCount = 0
    /// Bytes held by rings now (counted against the budget).
    public private(set) var bytesInUse = 0
    public private(set) var chunksInUse = 0
    /// Chunks taken from and returned to the system (allocation and free).
    public private(set) var systemAllocations = 0
    public private(set) var systemFrees = 0
    /// Times `take()` refused for want of budget.
    public private(set) var budgetRefusals = 0

    static let headerStride = (MemoryLayout<TCPRingChunk>.stride + 63) & ~63
    /// Headers of borrowed chunks (no data area: their bytes lie elsewhere),
    /// kept for reuse as data chunks are; charged `headerStride` each.
    private var headerFreeList: UnsafeMutablePointer<TCPRingChunk>?
    private var headerFreeCount = 0

    public init(chunkSize: Int = 4096, budgetBytes: Int = 1 << 30, cachedChunkLimit: Int = 4096) {
        self.chunkSize = max(chunkSize, 1)
        self.budgetBytes = max(budgetBytes, 0)
        self.cachedChunkLimit = max(cachedChunkLimit, 0)
    }

    deinit {
        while let chunk = freeList {
            freeList = chunk.pointee.next
            UnsafeMutableRawPointer(chunk).deallocate()
        }
        while let header = headerFreeList {
            headerFreeList = header.pointee.next
            UnsafeMutableRawPointer(header).deallocate()
        }
    }

    /// A header for a borrowed chunk at `start` (the caller sets its base,
    /// capacity and release), or nil when the budget is used up.
    public func takeHeader(start: Int) -> UnsafeMutablePointer<TCPRingChunk>? {
        guard bytesInUse + Self.headerStride <= budgetBytes else {
            budgetRefusals += 1
            return nil
        }
        let header: UnsafeMutablePointer<TCPRingChunk>
        if let free = headerFreeList {
            headerFreeList = free.pointee.next
            headerFreeCount -= 1
            header = free
        } else {
            header = UnsafeMutableRawPointer.allocate(byteCount: Self.headerStride, alignment: 64)
                .bindMemory(to: TCPRingChunk.self, capacity: 1)
        }
        header.initialize(to: TCPRingChunk(next: nil, base: UnsafeMutableRawPointer(header), capacity: 0, start: start,
                                           release: nil, releaseContext: nil, extraCharge: 0, hint: nil))
        bytesInUse += Self.headerStride
        chunksInUse += 1
        return header
    }

    /// Takes back a borrowed chunk's header (after its release was called).
    private func giveHeader(_ header: UnsafeMutablePointer<TCPRingChunk>) {
        bytesInUse -= Self.headerStride
        chunksInUse -= 1
        if headerFreeCount < cachedChunkLimit {
            header.pointee.next = headerFreeList
            headerFreeList = header
            headerFreeCount += 1
        } else {
            UnsafeMutableRawPointer(header).deallocate()
        }
    }

    /// Fills the free list up to `chunks` chunks (taken from the system
    /// now): rings then reach that many chunks in use without an
    /// allocation. The cache takes memory only when its free list is empty,
    /// so without a reserve the first time rings reach a new high-water
    /// mark allocates once (suite 45 saw it after its warm-up; Docs/NIO.md).
    /// Headers for as many borrowed chunks (lent writes) are reserved too.
    public func reserve(chunks: Int) {
        while headerFreeCount < min(chunks, cachedChunkLimit) {
            let header = UnsafeMutableRawPointer.allocate(byteCount: Self.headerStride, alignment: 64)
                .bindMemory(to: TCPRingChunk.self, capacity: 1)
            header.pointee.next = headerFreeList
            headerFreeList = header
            headerFreeCount += 1
        }
        while freeCount + chunksInUse < min(chunks, cachedChunkLimit) {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.headerStride + chunkSize, alignment: 64)
            let chunk = raw.bindMemory(to: TCPRingChunk.self, capacity: 1)
            systemAllocations += 1
            chunk.pointee.next = freeList
            freeList = chunk
            freeCount += 1
        }
    }

    /// Bytes rings may still take before the budget pushes back.
    public var availableBytes: Int { max(budgetBytes - bytesInUse, 0) }

    /// Bytes of chunk memory taken from the system and not yet returned.
    public var systemBytes: Int { (systemAllocations - systemFrees) * (Self.headerStride + chunkSize) }

    /// A chunk for `start`, or nil when the budget is used up.
    public func take(start: Int) -> UnsafeMutablePointer<TCPRingChunk>? {
        guard bytesInUse + chunkSize <= budgetBytes else {
            budgetRefusals += 1
            return nil
        }
        let chunk: UnsafeMutablePointer<TCPRingChunk>
        if let free = freeList {
            freeList = free.pointee.next
            freeCount -= 1
            chunk = free
        } else {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.headerStride + chunkSize, alignment: 64)
            chunk = raw.bindMemory(to: TCPRingChunk.self, capacity: 1)
            systemAllocations += 1
        }
        let data = UnsafeMutableRawPointer(chunk) + Self.headerStride
        chunk.initialize(to: TCPRingChunk(next: nil, base: data, capacity: chunkSize, start: start,
                                          release: nil, releaseContext: nil, extraCharge: 0, hint: nil))
        bytesInUse += chunkSize
        chunksInUse += 1
        return chunk
    }

    /// Takes back a chunk a ring no longer needs (calling a borrowed chunk's release).
    public func give(_ chunk: UnsafeMutablePointer<TCPRingChunk>) {
        if let release = chunk.pointee.release {
            release(chunk.pointee.releaseContext)
            return giveHeader(chunk)  // borrowed chunks come from takeHeader
        }
        bytesInUse -= chunkSize  // charged in take()
        chunksInUse -= 1
        if freeCount < cachedChunkLimit {
            chunk.pointee.next = freeList
            freeList = chunk
            freeCount += 1
        } else {
            UnsafeMutableRawPointer(chunk).deallocate()
            systemFrees += 1
        }
    }
}
