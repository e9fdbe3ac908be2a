import CNuma
#if canImport(Glibc)
import Glibc
#endif

/// How devices address DMA memory.
public enum IOVAMode: String, Sendable, CaseIterable {
    /// IOVA = physical address, from /proc/self/pagemap (UIO; VFIO with a
    /// device that bypasses the IOMMU, such as legacy virtio).
    case physical
    /// IOVA = virtual address, mapped into the IOMMU by VFIO type1.
    case virtual
}

/// What backs a DMA region.
public enum DMABacking: Sendable, Equatable, CustomStringConvertible {
    /// Hugetlb pages of the given size (2 MiB or 1 GiB): physically
    /// contiguous per page, never swapped or moved.
    case hugepages(pageSize: Int)
    /// Ordinary anonymous memory, locked. Only for host drivers (Tap,
    /// Loopback, Null) and tests: PCI drivers refuse it.
    case anonymous

    public var description: String {
        switch self {
        case .hugepages(let size): return "hugepages(\(size / 1024) kB)"
        case .anonymous: return "anonymous (fallback)"
        }
    }
}

/// Which memory a caller accepts.
public enum DMAMemoryPolicy: Sendable {
    /// Hugepages or an error that says how to reserve them.
    case hugepagesRequired
    /// Hugepages when the system has enough free, else the named anonymous
    /// fallback (for host drivers and tests).
    case hugepagesOrAnonymousFallback
    /// Anonymous memory only.
    case anonymous
}

/// A locked region of memory that devices can address, with its
/// virtual-to-IOVA translation. One region is made at start-up and carved
/// into pools and rings; nothing here runs per packet.
public final class DMAMemory: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let size: Int
    /// The unit of physical contiguity: the hugepage size, or 4 KiB.
    public let pageSize: Int
    public let backing: DMABacking
    public let iovaMode: IOVAMode
    public let numaNode: Int?
    /// Physical address of each page (IOVA mode `.physical`).
    private let pagePhysicalAddresses: [UInt64]

    /// Maps `size` bytes (rounded up to whole pages).
    public init(
        size requested: Int, policy: DMAMemoryPolicy = .hugepagesRequired,
        iovaMode: IOVAMode, numaNode: Int? = nil
    ) throws(PlatformError) {
        guard requested > 0 else {
            throw PlatformError(.invalidArgument, "DMA memory of \(requested) bytes: the size must be positive")
        }
        var chosen: (pointer: UnsafeMutableRawPointer, size: Int, pageSize: Int, backing: DMABacking)?
        switch policy {
        case .hugepagesRequired:
            chosen = try Self.mapHugepages(requested)
        case .hugepagesOrAnonymousFallback:
            chosen = try? Self.mapHugepages(requested)
            if chosen == nil { chosen = try Self.mapAnonymous(requested) }
        case .anonymous:
            chosen = try Self.mapAnonymous(requested)
        }
        let region = chosen!
        base = region.pointer
        size = region.size
        pageSize = region.pageSize
        backing = region.backing
        self.iovaMode = iovaMode
        self.numaNode = numaNode

        if let numaNode, numa_available() >= 0, numaNode <= numa_max_node() {
            numa_tonode_memory(base, size, Int32(numaNode))
        }
        // Locking faults every page in and pins it: physical addresses stay
        // valid for the life of the region.
        guard mlock(base, size) == 0 else {
            let error = PlatformError.systemCall("mlock \(size) bytes of DMA memory (raise RLIMIT_MEMLOCK or run as root)")
            munmap(base, size)
            throw error
        }
        memset(base, 0, size)

        if iovaMode == .physical {
            let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = PlatformError.systemCall("open /proc/self/pagemap")
                munmap(base, size)
                throw error
            }
            defer { close(fd) }
            var addresses = [UInt64]()
            addresses.reserveCapacity(size / pageSize)
            for offset in stride(from: 0, to: size, by: pageSize) {
                do {
                    addresses.append(try PageMap.physicalAddress(of: base + offset, pagemap: fd))
                } catch {
                    munmap(base, size)
                    throw error
                }
            }
            pagePhysicalAddresses = addresses
        } else {
            pagePhysicalAddresses = []
        }
    }

    deinit {
        munlock(base, size)
        munmap(base, size)
    }

    /// True for hugepage memory: what PCI drivers require.
    public var isHugepageBacked: Bool {
        if case .hugepages = backing { return true }
        return false
    }

    /// The IOVA of the byte at `offset` into the region.
    @inlinable
    public func iova(atOffset offset: Int) -> UInt64 {
        precondition(offset >= 0 && offset < size, "offset \(offset) outside DMA region of \(size) bytes")
        return iovaUnchecked(atOffset: offset)
    }

    /// The IOVA of the byte at `pointer`, which must lie inside the region.
    @inlinable
    public func iova(of pointer: UnsafeRawPointer) -> UInt64 {
        iova(atOffset: UnsafeRawPointer(base).distance(to: pointer))
    }

    @usableFromInline
    func iovaUnchecked(atOffset offset: Int) -> UInt64 {
        switch iovaMode {
        case .virtual:
            return UInt64(UInt(bitPattern: base)) + UInt64(offset)
        case .physical:
            return pagePhysicalAddresses[offset / pageSize] + UInt64(offset % pageSize)
        }
    }

    /// Whether `[offset, offset + length)` lies in one page, so that a
    /// device sees it contiguous whatever the IOVA mode.
    public func isPhysicallyContiguous(offset: Int, length: Int) -> Bool {
        offset / pageSize == (offset + length - 1) / pageSize
    }

    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        let distance = UnsafeRawPointer(base).distance(to: pointer)
        return distance >= 0 && distance < size
    }

    // MARK: Mapping

    private static func roundUp(_ value: Int, to unit: Int) -> Int { (value + unit - 1) / unit * unit }

    private static func mapHugepages(_ requested: Int) throws(PlatformError)
        -> (UnsafeMutableRawPointer, Int, Int, DMABacking)
    {
        let sizes = HugepageInfo.all()
        guard !sizes.isEmpty else {
            throw PlatformError(.noHugepages, "this kernel offers no hugepages (/sys/kernel/mm/hugepages is empty)")
        }
        // The largest page size that has enough free pages, so that big
        // regions use 1 GiB pages where the system reserved them.
        var shortage: String?
        for info in sizes.reversed() {
            let needed = roundUp(requested, to: info.pageSize) / info.pageSize
            guard info.free >= needed else {
                if info.pageSize == 2 << 20 || shortage == nil { shortage = info.shortageMessage(needed: needed) }
                continue
            }
            let length = needed * info.pageSize
            // MAP_HUGE_SHIFT = 26: log2(page size) selects the pool.
            let log2Size = Int32(info.pageSize.trailingZeroBitCount)
            let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (log2Size << 26)
            let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0)
            guard let pointer, pointer != MAP_FAILED else {
                shortage = "mmap of \(needed) hugepages of \(info.pageSize / 1024) kB failed: \(String(cString: strerror(errno)))"
                continue
            }
            return (pointer, length, info.pageSize, .hugepages(pageSize: info.pageSize))
        }
        throw PlatformError(.noHugepages, shortage ?? "no hugepages free")
    }

    private static func mapAnonymous(_ requested: Int) throws(PlatformError)
        -> (UnsafeMutableRawPointer, Int, Int, DMABacking)
    {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = roundUp(requested, to: page)
        let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw .systemCall("mmap \(length) bytes of anonymous memory")
        }
        return (pointer, length, page, .anonymous)
    }
}
