import Atomics
import CPlatform
import Platform

/// Why a pool could not be made.
public struct PacketPoolError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Counters of a pool. `allocationFailures` counts requests that got fewer
/// buffers than they asked for.
public struct PacketPoolStatistics: Sendable, Equatable {
    public var capacity: Int
    public var available: Int
    public var inUse: Int { capacity - available }
    public var allocationFailures: Int
    /// Of `available`, the buffers in per-core caches (not in the shared ring).
    public var cached: Int = 0
}

/// A fixed set of packet buffers in DMA memory (rte_mempool + rte_pktmbuf
/// pool): a lock-free ring of free buffers shared by all cores, and in
/// front of it a small cache per core so that most allocations and frees
/// touch only the core's own memory.
///
/// Exhaustion is not an error: allocation returns fewer buffers and counts
/// the failure. Keep the pool alive as long as any of its buffers; a
/// buffer that outlives its pool is not a crash, but its memory stays
/// mapped until the process ends (see PacketPool+Orphans.swift).
public final class PacketPool: @unchecked Sendable {
    public let name: String
    /// Number of buffers.
    public let capacity: Int
    public let dataRoomSize: Int
    public let headroom: Int
    /// Buffers each core may hold back from the shared ring.
    public let cacheSize: Int
    public let memory: DMAMemory
    /// Bytes per element: header, headroom, data room (64-byte aligned).
    public let elementSize: Int

    @usableFromInline let freeRing: Ring<UnsafeMutablePointer<PacketHeader>>
    @usableFromInline let caches: UnsafeMutablePointer<CoreCache>
    @usableFromInline let cacheFlushThreshold: Int
    @usableFromInline let sharedFailures = ManagedAtomic<Int>(0)
    /// Where each element starts in `memory` (for the release-time scan).
    let elementOffsets: [Int]
    /// True only for `PacketPool.orphanage`, the owner of buffers whose pool
    /// was released while they were out: it takes frees and keeps nothing.
    @usableFromInline var isOrphanage = false

    /// A core's private stack of free buffers.
    @usableFromInline
    struct CoreCache {
        @usableFromInline var count: Int
        @usableFromInline var objects: UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>>
        @usableFromInline var failures: Int
    }

    public static let defaultDataRoomSize = 2048
    public static let defaultHeadroom = 128

    /// Makes a pool of `capacity` buffers.
    /// - Parameters:
    ///   - memory: where the buffers live; nil maps a region of its own
    ///     with `policy` and `iovaMode`.
    ///   - cacheSize: per-core cache; nil picks min(256, capacity / 8).
    public init(
        name: String, capacity: Int, dataRoomSize: Int = defaultDataRoomSize,
        headroom: Int = defaultHeadroom, cacheSize: Int? = nil,
        memory: DMAMemory? = nil, policy: DMAMemoryPolicy = .hugepagesRequired,
        iovaMode: IOVAMode = .virtual, numaNode: Int? = nil
    ) throws(PacketPoolError) {
        let cache = try Self.checkedCacheSize(
            name: name, capacity: capacity, dataRoomSize: dataRoomSize, headroom: headroom, cacheSize: cacheSize)
        self.name = name
        self.capacity = capacity
        self.dataRoomSize = dataRoomSize
        self.headroom = headroom
        self.cacheSize = cache
        cacheFlushThreshold = cache + cache / 2
        elementSize = (PacketHeader.reservedSize + headroom + dataRoomSize + 63) & ~63

        // Lay buffers out so none crosses a page: then each is contiguous
        // for the device whatever the IOVA mode.
        let region: DMAMemory
        if let memory {
            region = memory
        } else {
            region = try Self.mapRegion(
                name: name, capacity: capacity, elementSize: elementSize,
                policy: policy, iovaMode: iovaMode, numaNode: numaNode)
        }
        self.memory = region
        let offsets = try Self.layOutElements(name: name, capacity: capacity, elementSize: elementSize, in: region)

        var ringCapacity = 1
        while ringCapacity < capacity { ringCapacity <<= 1 }
        freeRing = try! Ring(capacity: ringCapacity)  // a power of two by construction
        caches = Self.makeCoreCaches(flushThreshold: cacheFlushThreshold)

        elementOffsets = offsets
        initializeFreeBuffers()
    }

    /// Checks the init arguments; returns the per-core cache size.
    private static func checkedCacheSize(
        name: String, capacity: Int, dataRoomSize: Int, headroom: Int, cacheSize: Int?
    ) throws(PacketPoolError) -> Int {
        guard capacity > 0 else {
            throw PacketPoolError(description: "pool '\(name)' of \(capacity) buffers: at least one buffer is needed")
        }
        guard capacity <= 1 << 24 else {
            throw PacketPoolError(description: "pool '\(name)' of \(capacity) buffers: at most 16M buffers")
        }
        guard dataRoomSize > 0, headroom >= 0, headroom + dataRoomSize <= Int(UInt16.max) else {
            throw PacketPoolError(description: "pool '\(name)': headroom \(headroom) + data room \(dataRoomSize) must be 1...65535 bytes")
        }
        let cache = cacheSize ?? min(256, capacity / 8)
        guard cache >= 0, cache <= 512, Double(cache) * 1.5 <= Double(capacity) else {
            throw PacketPoolError(description: "pool '\(name)': cache size \(cache) must be 0...512 and at most capacity / 1.5 (\(capacity * 2 / 3))")
        }
        return cache
    }

    /// A region of its own for a pool given no memory: whole 2 MiB pages
    /// of elements, plus one element of slack.
    private static func mapRegion(
        name: String, capacity: Int, elementSize: Int,
        policy: DMAMemoryPolicy, iovaMode: IOVAMode, numaNode: Int?
    ) throws(PacketPoolError) -> DMAMemory {
        let perPage = max(1, 2 << 20 / elementSize)
        let bytes = ((capacity + perPage - 1) / perPage) * (2 << 20) + elementSize
        do {
            return try DMAMemory(size: bytes, policy: policy, iovaMode: iovaMode, numaNode: numaNode)
        } catch {
            throw PacketPoolError(description: "pool '\(name)': \(error)")
        }
    }

    /// Offsets of `capacity` elements in `region`, skipping to the next
    /// page where an element would cross a physical discontinuity.
    private static func layOutElements(
        name: String, capacity: Int, elementSize: Int, in region: DMAMemory
    ) throws(PacketPoolError) -> [Int] {
        let needsContiguity = region.iovaMode == .physical || region.isHugepageBacked
        var offsets = [Int]()
        offsets.reserveCapacity(capacity)
        var offset = 0
        while offsets.count < capacity && offset + elementSize <= region.size {
            if needsContiguity && elementSize <= region.pageSize
                && !region.isPhysicallyContiguous(offset: offset, length: elementSize)
            {
                offset = (offset / region.pageSize + 1) * region.pageSize
                continue
            }
            offsets.append(offset)
            offset += elementSize
        }
        guard offsets.count == capacity else {
            throw PacketPoolError(description: "pool '\(name)': \(region.size) bytes of DMA memory hold \(offsets.count) of \(capacity) buffers of \(elementSize) bytes")
        }
        return offsets
    }

    /// One empty cache per possible core.
    private static func makeCoreCaches(flushThreshold: Int) -> UnsafeMutablePointer<CoreCache> {
        let caches = UnsafeMutablePointer<CoreCache>.allocate(capacity: Cores.maximumCount)
        for core in 0..<Cores.maximumCount {
            caches[core] = CoreCache(
                count: 0, objects: .allocate(capacity: max(1, 2 * flushThreshold + 64)), failures: 0)
        }
        return caches
    }

    /// Writes each element's header (free, owned by this pool) and puts
    /// it on the free ring.
    private func initializeFreeBuffers() {
        let region = memory
        let owner = Unmanaged.passUnretained(self).toOpaque()
        for offset in elementOffsets {
            let header = (region.base + offset).bindMemory(to: PacketHeader.self, capacity: 1)
            let buffer = region.base + offset + PacketHeader.reservedSize
            header.initialize(to: PacketHeader(
                bufferAddress: buffer,
                bufferIOVA: region.iova(atOffset: offset + PacketHeader.reservedSize),
                next: nil, pool: owner, offloadFlags: [], packetLength: 0, rssHash: 0,
                dataOffset: UInt16(headroom), dataLength: 0,
                bufferLength: UInt16(headroom + dataRoomSize), port: PacketHeader.noPort,
                segmentCount: 1, vlanTag: 0, l2Length: 0, l3Length: 0, l4Length: 0,
                state: PacketHeader.freeState, userData: 0))
            _ = freeRing.enqueue(header)
        }
    }

    deinit {
        adoptOutstandingBuffersIntoOrphanage()
        for core in 0..<Cores.maximumCount { caches[core].objects.deallocate() }
        caches.deallocate()
    }

    // MARK: Allocation

    /// Fills `buffers` with fresh packets (empty, full headroom) and returns
    /// how many it got: fewer than asked when the pool runs low (counted in
    /// `allocationFailures`).
    @inlinable
    public func allocate(into buffers: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        let wanted = buffers.count
        guard wanted > 0 else { return 0 }
        let headers = UnsafeMutableRawPointer(buffers.baseAddress!)
            .bindMemory(to: UnsafeMutablePointer<PacketHeader>.self, capacity: wanted)
        let got = take(UnsafeMutableBufferPointer(start: headers, count: wanted))
        for i in 0..<got { Self.reset(headers[i], headroom: headroom) }
        if got < wanted { countFailure() }
        return got
    }

    /// One fresh packet, or nil when the pool is empty (counted).
    @inlinable
    public func allocate() -> PacketBuffer? {
        withUnsafeTemporaryAllocation(of: PacketBuffer.self, capacity: 1) { slot in
            allocate(into: slot) == 1 ? slot[0] : nil
        }
    }

    /// Free headers into `output` (not empty): from this core's cache,
    /// refilled from the shared ring when short, as rte_mempool_get_bulk.
    /// The common case (the cache holds enough) is small and always inlined,
    /// one object without the copy loop; refills are out of line.
    @inlinable @inline(__always)
    func take(_ output: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>) -> Int {
        let n = output.count
        guard cacheSize > 0 else { return n == 1 ? takeOneFromRing(output) : freeRing.dequeue(burst: output) }
        let core = Int(dp_current_core())
        guard core >= 0 else { return freeRing.dequeue(burst: output) }
        let cache = caches + core
        let count = cache.pointee.count
        guard _fastPath(count >= n) else { return takeRefilling(output, cache) }
        let objects = cache.pointee.objects
        if n == 1 {
            output[0] = objects[count &- 1]
            cache.pointee.count = count &- 1
            return 1
        }
        // The last freed (the warmest), in the order they were freed: a
        // forward copy, which LLVM turns into plain vector moves (the
        // reversed one of rte_mempool_get_bulk needs shuffles).
        copyElements(from: objects + (count &- n), to: output.baseAddress!, count: n)
        cache.pointee.count = count &- n
        return n
    }

    /// `take` when the cache holds fewer than asked: refill it from the
    /// ring (or, for more than a cache's worth, take from the ring first).
    @usableFromInline @inline(never)
    func takeRefilling(_ output: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>,
                       _ cache: UnsafeMutablePointer<CoreCache>) -> Int {
        let n = output.count
        let objects = cache.pointee.objects
        var count = cache.pointee.count
        if n > cacheSize {
            // Too big for the cache: straight from the ring, and what the ring
            // lacks from this core's cache.
            var got = freeRing.dequeue(burst: output)
            while got < n && count > 0 {
                count -= 1
                output[got] = objects[count]
                got += 1
            }
            cache.pointee.count = count
            return got
        }
        // Refill to the cache size plus this request in one ring access.
        count += freeRing.dequeue(burst: UnsafeMutableBufferPointer(start: objects + count, count: cacheSize + n - count))
        let got = min(n, count)
        for i in 0..<got { output[i] = objects[count - 1 - i] }
        cache.pointee.count = count - got
        return got
    }

    /// One object straight from the shared ring (its single-element call).
    @inlinable @inline(__always)
    func takeOneFromRing(_ output: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>) -> Int {
        guard let header = freeRing.dequeue() else { return 0 }
        output[0] = header
        return 1
    }

    @inlinable
    static func reset(_ header: UnsafeMutablePointer<PacketHeader>, headroom: Int) {
        #if DEBUG
        precondition(header.pointee.state == PacketHeader.freeState, "PacketPool handed out a buffer that is not free")
        #endif
        header.pointee.state = PacketHeader.allocatedState
        header.pointee.next = nil
        header.pointee.offloadFlags = []
        header.pointee.packetLength = 0
        header.pointee.dataLength = 0
        header.pointee.dataOffset = UInt16(truncatingIfNeeded: headroom)
        header.pointee.segmentCount = 1
        header.pointee.port = PacketHeader.noPort
        header.pointee.rssHash = 0
        header.pointee.vlanTag = 0
        header.pointee.l2Length = 0
        header.pointee.l3Length = 0
        header.pointee.l4Length = 0
        header.pointee.userData = 0
    }

    @usableFromInline
    func countFailure() {
        let core = Int(dp_current_core())
        if core >= 0 {
            caches[core].failures += 1
        } else {
            sharedFailures.wrappingIncrement(ordering: .relaxed)
        }
    }

    // MARK: Freeing

    /// Returns one segment to the pool that owns it.
    @inlinable
    static func markFree(_ header: UnsafeMutablePointer<PacketHeader>) {
        #if DEBUG
        precondition(header.pointee.state == PacketHeader.allocatedState, "double free of a PacketBuffer")
        #endif
        header.pointee.state = PacketHeader.freeState
        header.pointee.next = nil
    }

    @inlinable
    static func returnToOwner(_ header: UnsafeMutablePointer<PacketHeader>) {
        markFree(header)
        Unmanaged<PacketPool>.fromOpaque(header.pointee.pool)._withUnsafeGuaranteedRef { pool in
            pool.put(header)
        }
    }

    @inlinable
    func put(_ header: UnsafeMutablePointer<PacketHeader>) {
        if _slowPath(isOrphanage) { return countOrphanedFrees(1) }
        let core = Int(dp_current_core())
        guard core >= 0, cacheSize > 0 else {
            _ = freeRing.enqueue(header)
            return
        }
        let cache = caches + core
        cache.pointee.objects[cache.pointee.count] = header
        cache.pointee.count += 1
        if cache.pointee.count > cacheFlushThreshold {
            // Give back everything above the cache size in one ring access.
            let surplus = cache.pointee.count - cacheSize
            _ = freeRing.enqueue(burst: UnsafeBufferPointer(start: cache.pointee.objects + cacheSize, count: surplus))
            cache.pointee.count = cacheSize
        }
    }

    /// Returns free headers (already marked free) in one operation: into
    /// this core's cache, or straight to the ring when they would overflow it.
    @inlinable
    func put(bulk headers: UnsafeBufferPointer<UnsafeMutablePointer<PacketHeader>>) {
        // One object: the single put, without the bulk copy's set-up.
        if headers.count == 1 { return put(headers[0]) }
        if _slowPath(isOrphanage) { return countOrphanedFrees(headers.count) }
        guard cacheSize > 0, headers.count <= cacheFlushThreshold else {
            _ = freeRing.enqueue(burst: headers)
            return
        }
        let core = Int(dp_current_core())
        guard core >= 0 else {
            _ = freeRing.enqueue(burst: headers)
            return
        }
        let cache = caches + core
        copyElements(from: headers.baseAddress!, to: cache.pointee.objects + cache.pointee.count, count: headers.count)
        cache.pointee.count += headers.count
        if cache.pointee.count > cacheFlushThreshold {
            let surplus = cache.pointee.count - cacheSize
            _ = freeRing.enqueue(burst: UnsafeBufferPointer(start: cache.pointee.objects + cacheSize, count: surplus))
            cache.pointee.count = cacheSize
        }
    }

    /// Moves the calling core's cached buffers back to the shared ring (when
    /// a core stops, so that others can use them).
    public func flushCurrentCoreCache() {
        let core = Int(dp_current_core())
        guard core >= 0 else { return }
        let cache = caches + core
        _ = freeRing.enqueue(burst: UnsafeBufferPointer(start: cache.pointee.objects, count: cache.pointee.count))
        cache.pointee.count = 0
    }

    // MARK: Counters

    /// A snapshot. `available` counts the shared ring and every core cache;
    /// exact only while no core is allocating.
    public var statistics: PacketPoolStatistics {
        var available = freeRing.count
        var failures = sharedFailures.load(ordering: .relaxed)
        var cached = 0
        for core in 0..<Cores.maximumCount {
            cached += caches[core].count
            failures += caches[core].failures
        }
        available += cached
        return PacketPoolStatistics(capacity: capacity, available: available, allocationFailures: failures, cached: cached)
    }
}
