import CPlatform

#if canImport(Glibc)
import Glibc
#endif

/// The process's VFIO container: one IOMMU address space (type1) that every
/// VFIO group this process opens joins, so one DMA mapping serves every
/// device. Opened on first use; the IOMMU type is set when the first group
/// joins (the kernel requires a group before VFIO_SET_IOMMU).
final class VFIOContainer: Sendable {
    static let shared = ProcessLock<VFIOContainer?>(nil)

    let fd: Int32
    private let state = ProcessLock(State())

    private struct State {
        var iommuSet = false
        /// Open groups by number, with the count of devices using each.
        var groups: [Int: (fd: Int32, users: Int)] = [:]
        /// DMA mappings by IOVA, with the count of users of each (two
        /// devices may map the same pool).
        var mappings: [UInt64: (size: UInt64, users: Int)] = [:]
    }

    /// The shared container, opened on first call.
    static func open(devRoot: String) throws(PlatformError) -> VFIOContainer {
        try shared.withLock { (container: inout VFIOContainer?) throws(PlatformError) -> VFIOContainer in
            if let container { return container }
            let opened = try VFIOContainer(path: devRoot + "/vfio/vfio")
            container = opened
            return opened
        }
    }

    private init(path: String) throws(PlatformError) {
        let fd = dp_open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT {
                throw PlatformError(.notFound, "\(path) does not exist: load the vfio and vfio-pci modules (modprobe vfio-pci)")
            }
            throw .systemCall("open \(path)")
        }
        let version = dp_ioctl_int(fd, DP_VFIO_GET_API_VERSION, 0)
        guard version == DP_VFIO_API_VERSION else {
            Glibc.close(fd)
            throw PlatformError(.unsupported, "VFIO API version \(version), expected \(DP_VFIO_API_VERSION)")
        }
        guard dp_ioctl_int(fd, DP_VFIO_CHECK_EXTENSION, UInt(DP_VFIO_TYPE1_IOMMU)) == 1 else {
            Glibc.close(fd)
            throw PlatformError(.unsupported, "this kernel's VFIO lacks the type1 IOMMU (load vfio_iommu_type1)")
        }
        self.fd = fd
    }

    /// Opens group `number` (or reuses it) and joins it to the container.
    func attachGroup(_ number: Int, devRoot: String, address: PCIAddress) throws(PlatformError) -> Int32 {
        try state.withLock { (state: inout State) throws(PlatformError) -> Int32 in
            if let group = state.groups[number] {
                state.groups[number] = (group.fd, group.users + 1)
                return group.fd
            }
            let path = devRoot + "/vfio/\(number)"
            let groupFD = dp_open(path, O_RDWR | O_CLOEXEC)
            guard groupFD >= 0 else {
                let code = errno
                switch code {
                case ENOENT:
                    throw PlatformError(.notFound, "\(path) does not exist although \(address) is in IOMMU group \(number): is vfio-pci bound to it (dp-devbind status)?")
                case EBUSY:
                    throw PlatformError(.invalidArgument, "\(path) is busy: another process holds IOMMU group \(number) of \(address)")
                default:
                    throw .systemCall("open \(path) (IOMMU group of \(address); root or the group's owner may open it)", errno: code)
                }
            }
            var status = vfio_group_status()
            status.argsz = UInt32(MemoryLayout<vfio_group_status>.size)
            guard dp_ioctl_ptr(groupFD, DP_VFIO_GROUP_GET_STATUS, &status) == 0 else {
                let error = PlatformError.systemCall("VFIO_GROUP_GET_STATUS of group \(number)")
                Glibc.close(groupFD)
                throw error
            }
            guard status.flags & UInt32(VFIO_GROUP_FLAGS_VIABLE) != 0 else {
                Glibc.close(groupFD)
                throw PlatformError(.invalidArgument,
                    "IOMMU group \(number) of \(address) is not viable: every device in it must be bound to vfio-pci "
                    + "or to no driver (see /sys/kernel/iommu_groups/\(number)/devices)")
            }
            var containerFD = fd
            guard dp_ioctl_ptr(groupFD, DP_VFIO_GROUP_SET_CONTAINER, &containerFD) == 0 else {
                let error = PlatformError.systemCall("VFIO_GROUP_SET_CONTAINER for group \(number)")
                Glibc.close(groupFD)
                throw error
            }
            if !state.iommuSet {
                guard dp_ioctl_int(fd, DP_VFIO_SET_IOMMU, UInt(DP_VFIO_TYPE1_IOMMU)) == 0 else {
                    let error = PlatformError.systemCall("VFIO_SET_IOMMU type1")
                    _ = dp_ioctl_ptr(groupFD, DP_VFIO_GROUP_UNSET_CONTAINER, nil)
                    Glibc.close(groupFD)
                    throw error
                }
                state.iommuSet = true
            }
            state.groups[number] = (groupFD, 1)
            return groupFD
        }
    }

    /// Drops one user of a group; the last one leaves the container and
    /// closes it.
    func detachGroup(_ number: Int) {
        state.withLock { state in
            guard let group = state.groups[number] else { return }
            if group.users > 1 {
                state.groups[number] = (group.fd, group.users - 1)
                return
            }
            state.groups[number] = nil
            _ = dp_ioctl_ptr(group.fd, DP_VFIO_GROUP_UNSET_CONTAINER, nil)
            Glibc.close(group.fd)
            // The IOMMU type goes with the last group; mappings go with it.
            if state.groups.isEmpty {
                state.iommuSet = false
                state.mappings.removeAll()
            }
        }
    }

    /// Maps `size` bytes at `virtual` for device reads and writes at `iova`.
    func map(virtual: UnsafeMutableRawPointer, iova: UInt64, size: UInt64) throws(PlatformError) {
        try state.withLock { (state: inout State) throws(PlatformError) in
            guard state.iommuSet else {
                throw PlatformError(.invalidArgument, "no VFIO group is open: open a device before mapping DMA memory")
            }
            if let existing = state.mappings[iova] {
                guard existing.size == size else {
                    throw PlatformError(.invalidArgument, "IOVA 0x\(String(iova, radix: 16)) is already mapped with another size")
                }
                state.mappings[iova] = (size, existing.users + 1)
                return
            }
            var request = vfio_iommu_type1_dma_map()
            request.argsz = UInt32(MemoryLayout<vfio_iommu_type1_dma_map>.size)
            request.flags = UInt32(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
            request.vaddr = UInt64(UInt(bitPattern: virtual))
            request.iova = iova
            request.size = size
            guard dp_ioctl_ptr(fd, DP_VFIO_IOMMU_MAP_DMA, &request) == 0 else {
                let code = errno
                var hint = ""
                if code == EINVAL || code == EFAULT || code == ENOSPC || code == ERANGE {
                    hint = " (is the IOVA above the IOMMU's address width? QEMU needs -device intel-iommu,aw-bits=48 for IOVA = virtual address)"
                }
                throw .systemCall("VFIO_IOMMU_MAP_DMA of \(size) bytes at IOVA 0x\(String(iova, radix: 16))\(hint)", errno: code)
            }
            state.mappings[iova] = (size, 1)
        }
    }

    /// Drops one user of the mapping at `iova`; the last one unmaps it.
    func unmap(iova: UInt64) {
        state.withLock { state in
            guard let existing = state.mappings[iova] else { return }
            if existing.users > 1 {
                state.mappings[iova] = (existing.size, existing.users - 1)
                return
            }
            state.mappings[iova] = nil
            var request = vfio_iommu_type1_dma_unmap()
            request.argsz = UInt32(MemoryLayout<vfio_iommu_type1_dma_unmap>.size)
            request.iova = iova
            request.size = existing.size
            _ = dp_ioctl_ptr(fd, DP_VFIO_IOMMU_UNMAP_DMA, &request)
        }
    }
}
