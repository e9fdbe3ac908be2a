import Atomics
import Logging
import Platform
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Buffers that outlive their pool. A header names its pool by an unretained
/// pointer (a retain per packet would cost the fast path), so freeing a
/// buffer after its pool was released would write through a dangling
/// pointer. Instead, a pool released with buffers still out hands them to
/// the orphanage: their headers are repointed at it, their memory stays
/// mapped for the rest of the process, and a later free is counted and
/// otherwise ignored. A leak by design, and said on standard error, because
/// the program has a lifetime bug that only it can fix.
extension PacketPool {
    /// The owner of orphaned buffers (made on first use).
    static let orphanage: PacketPool = {
        // One anonymous buffer: it never hands anything out.
        let pool = try! PacketPool(name: "orphanage", capacity: 1, cacheSize: 0, policy: .anonymous)
        pool.isOrphanage = true
        return pool
    }()

    /// DMA regions kept mapped because orphaned buffers live in them.
    private static let keptRegions = Mutex<[DMAMemory]>([])
    private static let orphanedFrees = ManagedAtomic<Int>(0)

    /// Buffers freed after their pool was released, since the process began.
    public static var orphanedFreeCount: Int { orphanedFrees.load(ordering: .relaxed) }

    @usableFromInline
    func countOrphanedFrees(_ count: Int) {
        Self.orphanedFrees.wrappingIncrement(by: count, ordering: .relaxed)
    }

    /// Called by deinit: finds the buffers still allocated and, if there are
    /// any, gives them and this pool's memory to the orphanage.
    func adoptOutstandingBuffersIntoOrphanage() {
        guard !isOrphanage else { return }
        var outstanding = 0
        var orphanage: UnsafeMutableRawPointer?
        for offset in elementOffsets {
            let header = (memory.base + offset).assumingMemoryBound(to: PacketHeader.self)
            guard header.pointee.state == PacketHeader.allocatedState else { continue }
            if orphanage == nil { orphanage = Unmanaged.passUnretained(Self.orphanage).toOpaque() }
            header.pointee.pool = orphanage!
            outstanding += 1
        }
        guard outstanding > 0 else { return }
        Self.keptRegions.withLock { $0.append(memory) }
        DataplaneLog.logger("dataplane.packets").warning(
            "PacketPool '\(name)' released with \(outstanding) of \(capacity) buffers still in use; their memory stays mapped and freeing them later only counts them (keep a pool alive until every buffer is freed)")
    }
}
