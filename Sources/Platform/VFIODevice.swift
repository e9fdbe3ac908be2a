import CPlatform
#if canImport(Glibc)
import Glibc
#endif

/// One region of a VFIO device: a BAR, the config space, or another
/// device-specific area, reached at `offset` in the device file.
struct VFIORegion: Sendable {
    let index: Int
    let offset: Int64
    let size: Int
    let flags: UInt32

    var canMap: Bool { flags & UInt32(VFIO_REGION_INFO_FLAG_MMAP) != 0 }
}

/// A PCI function opened through vfio-pci: its group in the shared
/// container, the device file, and its mapped BARs.
final class VFIODevice {
    let address: PCIAddress
    let groupNumber: Int
    let container: VFIOContainer
    private(set) var fd: Int32
    let supportsReset: Bool
    /// Where config space starts in the device file.
    private var configOffset: Int64 = 0
    private var mappedBars: [Int: (pointer: UnsafeMutableRawPointer, size: Int)] = [:]

    init(address: PCIAddress, group: Int, devRoot: String) throws(PlatformError) {
        self.address = address
        self.groupNumber = group
        container = try VFIOContainer.open(devRoot: devRoot)
        let groupFD = try container.attachGroup(group, devRoot: devRoot, address: address)
        let fd = address.description.withCString { dp_ioctl_ptr(groupFD, DP_VFIO_GROUP_GET_DEVICE_FD, UnsafeMutableRawPointer(mutating: $0)) }
        guard fd >= 0 else {
            let error = PlatformError.systemCall("VFIO_GROUP_GET_DEVICE_FD for \(address) (is another process using it?)")
            container.detachGroup(group)
            throw error
        }
        var info = vfio_device_info()
        info.argsz = UInt32(MemoryLayout<vfio_device_info>.size)
        guard dp_ioctl_ptr(fd, DP_VFIO_DEVICE_GET_INFO, &info) == 0 else {
            let error = PlatformError.systemCall("VFIO_DEVICE_GET_INFO for \(address)")
            Glibc.close(fd)
            container.detachGroup(group)
            throw error
        }
        self.fd = fd
        supportsReset = info.flags & UInt32(VFIO_DEVICE_FLAGS_RESET) != 0
        do {
            configOffset = try region(Int(DP_VFIO_PCI_CONFIG_REGION_INDEX)).offset
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func region(_ index: Int) throws(PlatformError) -> VFIORegion {
        var info = vfio_region_info()
        info.argsz = UInt32(MemoryLayout<vfio_region_info>.size)
        info.index = UInt32(index)
        guard dp_ioctl_ptr(fd, DP_VFIO_DEVICE_GET_REGION_INFO, &info) == 0 else {
            throw .systemCall("VFIO_DEVICE_GET_REGION_INFO \(index) of \(address)")
        }
        return VFIORegion(index: index, offset: Int64(info.offset), size: Int(info.size), flags: info.flags)
    }

    /// A BAR's registers: memory BARs are mapped once and reused, others
    /// (I/O ports) go through pread/pwrite on the device file.
    func bar(_ index: Int) throws(PlatformError) -> DeviceRegisters {
        if let mapped = mappedBars[index] { return DeviceRegisters(space: .memory(mapped.pointer), size: mapped.size) }
        let region = try region(Int(DP_VFIO_PCI_BAR0_REGION_INDEX) + index)
        guard region.size > 0 else {
            throw PlatformError(.notFound, "\(address) has no BAR\(index)")
        }
        guard region.canMap else {
            return DeviceRegisters(space: .vfioRegion(fd: fd, offset: region.offset), size: region.size)
        }
        let pointer = mmap(nil, region.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(region.offset))
        guard let pointer, pointer != MAP_FAILED else {
            throw .systemCall("mmap BAR\(index) (\(region.size) bytes) of \(address) through VFIO")
        }
        mappedBars[index] = (pointer, region.size)
        return DeviceRegisters(space: .memory(pointer), size: region.size)
    }

    func readConfig<T: FixedWidthInteger>(_ offset: Int, as: T.Type) throws(PlatformError) -> T {
        var value = T.zero
        let n = pread(fd, &value, MemoryLayout<T>.size, off_t(configOffset + Int64(offset)))
        guard n == MemoryLayout<T>.size else { throw .systemCall("read config offset \(offset) of \(address) through VFIO") }
        return T(littleEndian: value)
    }

    func writeConfig<T: FixedWidthInteger>(_ offset: Int, _ value: T) throws(PlatformError) {
        var copy = value.littleEndian
        let n = pwrite(fd, &copy, MemoryLayout<T>.size, off_t(configOffset + Int64(offset)))
        guard n == MemoryLayout<T>.size else { throw .systemCall("write config offset \(offset) of \(address) through VFIO") }
    }

    private var interrupt: DeviceInterrupt?

    /// MSI-X vectors, once set up (VFIO allows one interrupt index at a time).
    private var messages: [DeviceInterrupt]?

    /// INTx to an eventfd (DeviceInterrupt), set up once.
    func legacyInterrupt() throws(PlatformError) -> DeviceInterrupt {
        if let interrupt { return interrupt }
        guard messages == nil else { throw PlatformError(.unsupported, "\(address) signals MSI-X already; no INTx") }
        let made = try DeviceInterrupt.vfio(deviceFD: fd, address: address)
        interrupt = made
        return made
    }

    /// MSI-X vectors 0..<count to eventfds (DeviceInterrupt), set up once;
    /// a later call gets the same vectors when it asks for no more.
    func messageInterrupts(count: Int) throws(PlatformError) -> [DeviceInterrupt] {
        if let messages {
            guard count <= messages.count else { throw PlatformError(.unsupported, "\(address): \(messages.count) MSI-X vectors set up, \(count) asked") }
            return messages
        }
        guard interrupt == nil else { throw PlatformError(.unsupported, "\(address) signals INTx already; no MSI-X") }
        let made = try DeviceInterrupt.vfioMSIX(deviceFD: fd, count: count, address: address)
        messages = made
        return made
    }

    /// The request eventfd (dp_vfio_request_to_eventfd), -1 until asked for.
    private var requestFD: Int32 = -1

    /// True once vfio-pci asked for the device back (hot unplug or unbind
    /// in progress: the kernel waits until this process closes it).
    /// Registers the eventfd on the first call; false when that fails.
    func removalRequested() -> Bool {
        if requestFD < 0 {
            let eventFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
            guard eventFD >= 0 else { return false }
            guard dp_vfio_request_to_eventfd(fd, eventFD) == 0 else {
                Glibc.close(eventFD)
                return false
            }
            requestFD = eventFD
        }
        var count: UInt64 = 0
        return read(requestFD, &count, 8) == 8 && count > 0
    }

    func reset() throws(PlatformError) {
        guard supportsReset else {
            throw PlatformError(.unsupported, "\(address) offers no reset through VFIO (no FLR, PM or bus reset): reset it through its own registers")
        }
        guard dp_ioctl_int(fd, DP_VFIO_DEVICE_RESET, 0) == 0 else { throw .systemCall("VFIO_DEVICE_RESET of \(address)") }
    }

    /// Unmaps the BARs and closes the device; vfio-pci resets the device
    /// when its last file closes, so it is left ready for the next user.
    func close() {
        guard fd >= 0 else { return }
        for (_, mapped) in mappedBars { munmap(mapped.pointer, mapped.size) }
        mappedBars.removeAll()
        if requestFD >= 0 { Glibc.close(requestFD); requestFD = -1 }
        Glibc.close(fd)
        fd = -1
        container.detachGroup(groupNumber)
    }
}
