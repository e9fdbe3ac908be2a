#if canImport(Glibc)
import Glibc
#endif

/// Opens a PCI function for a userspace driver through whichever of
/// vfio-pci or uio_pci_generic it is bound to. It refuses any device bound
/// to another driver (or to none): binding is an explicit step
/// (`dp-devbind bind`), only ever done inside the lab guest.
///
/// Sendable so a driver can open the device on one thread and poll it on a
/// core's thread; its set-up calls (bar, dmaMemory, close...) must not run
/// on two threads at once. The registers it hands out are plain values.
public final class PCIDeviceAccess: DeviceAccess, @unchecked Sendable {
    public let address: PCIAddress
    public let kind: DeviceAccessKind
    public let vendorID: UInt16
    public let deviceID: UInt16
    public let bars: [PCIBar]
    /// The NUMA node the device hangs off (nil when the system has one
    /// node or does not say): where its packet buffers should live.
    public let numaNode: Int?

    private enum Backend {
        case vfio(VFIODevice)
        case uio(UIODevice)
    }
    private var backend: Backend?
    /// DMA regions this device mapped, kept alive until `close()` so that
    /// no mapping outlives its memory.
    private var mappedMemory: [(memory: DMAMemory, iovas: [UInt64])] = []

    public var defaultIOVAMode: IOVAMode { kind == .vfio ? .virtual : .physical }

    /// Opens the device at `address`. `sysfsRoot` and `devRoot` point
    /// elsewhere in tests.
    public init(address: PCIAddress, sysfsRoot: String = "/sys/bus/pci", devRoot: String = "/dev") throws(PlatformError) {
        let (kind, group) = try Self.inspect(address: address, sysfsRoot: sysfsRoot)
        let device = sysfsRoot + "/devices/\(address)"
        self.address = address
        self.kind = kind
        vendorID = UInt16(truncatingIfNeeded: SystemFiles.readInteger(device + "/vendor") ?? 0xffff)
        deviceID = UInt16(truncatingIfNeeded: SystemFiles.readInteger(device + "/device") ?? 0xffff)
        bars = Self.bars(resourceText: SystemFiles.read(device + "/resource") ?? "")
        numaNode = SystemFiles.readInteger(device + "/numa_node").flatMap { $0 >= 0 ? $0 : nil }
        switch kind {
        case .vfio: backend = .vfio(try VFIODevice(address: address, group: group!, devRoot: devRoot))
        case .uio: backend = .uio(try UIODevice(address: address, sysfsRoot: sysfsRoot, devRoot: devRoot))
        }
    }

    deinit { close() }

    /// Which access the device's driver gives, and its IOMMU group; throws
    /// for a device that is absent, bound elsewhere or lacks an IOMMU group.
    static func inspect(address: PCIAddress, sysfsRoot: String) throws(PlatformError) -> (DeviceAccessKind, Int?) {
        let device = sysfsRoot + "/devices/\(address)"
        guard SystemFiles.exists(device) else {
            throw PlatformError(.notFound, "no PCI device at \(address) (dp-devbind status lists the network devices)")
        }
        guard let driverLink = SystemFiles.readLink(device + "/driver") else {
            throw PlatformError(.invalidArgument,
                "\(address) is bound to no driver: bind it first with `dp-devbind bind --driver vfio-pci \(address)` "
                + "(or uio_pci_generic), inside the lab guest only")
        }
        let driver = String(driverLink.split(separator: "/").last ?? "")
        guard let kind = DeviceAccessKind(kernelDriver: driver) else {
            throw PlatformError(.invalidArgument,
                "\(address) is bound to the kernel driver \(driver), not to vfio-pci or uio_pci_generic: refusing to touch it. "
                + "Rebind it with `dp-devbind bind --driver vfio-pci \(address)` if it is a lab device (never on the host)")
        }
        guard kind == .vfio else { return (kind, nil) }
        guard let groupLink = SystemFiles.readLink(device + "/iommu_group"),
            let group = Int(groupLink.split(separator: "/").last ?? "")
        else {
            throw PlatformError(.notFound,
                "\(address) has no IOMMU group, so VFIO cannot isolate it: the kernel runs without an IOMMU. In QEMU "
                + "add -M q35 -device intel-iommu,aw-bits=48 and boot with intel_iommu=on iommu=pt (dp-lab --access vfio does); "
                + "Debian's kernel has no VFIO no-IOMMU mode (CONFIG_VFIO_NOIOMMU), so without an IOMMU use uio_pci_generic")
        }
        return (kind, group)
    }

    /// BARs from sysfs `resource` text (start end flags per line).
    static func bars(resourceText: String) -> [PCIBar] {
        var result = [PCIBar]()
        for (index, resource) in UIODevice.resources(resourceText).prefix(6).enumerated()
        where resource.end > resource.start {
            let isIO = resource.flags & 0x100 != 0
            result.append(PCIBar(
                index: index, kind: isIO ? .io : .memory, address: resource.start,
                size: resource.end - resource.start + 1,
                is64Bit: resource.flags & 0x0010_0000 != 0,  // IORESOURCE_MEM_64
                prefetchable: resource.flags & 0x2000 != 0))  // IORESOURCE_PREFETCH
        }
        return result
    }

    private func open() throws(PlatformError) -> Backend {
        guard let backend else { throw PlatformError(.invalidArgument, "\(address) was closed") }
        return backend
    }

    public func bar(_ index: Int) throws(PlatformError) -> DeviceRegisters {
        switch try open() {
        case .vfio(let device): return try device.bar(index)
        case .uio(let device): return try device.bar(index)
        }
    }

    private func readConfig<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) throws(PlatformError) -> T {
        switch try open() {
        case .vfio(let device): return try device.readConfig(offset, as: type)
        case .uio(let device):
            switch MemoryLayout<T>.size {
            case 1: return T(try device.config.read8(offset))
            case 2: return T(try device.config.read16(offset))
            default: return T(truncatingIfNeeded: try device.config.read32(offset))
            }
        }
    }

    public func readConfig8(_ offset: Int) throws(PlatformError) -> UInt8 { try readConfig(offset, as: UInt8.self) }
    public func readConfig16(_ offset: Int) throws(PlatformError) -> UInt16 { try readConfig(offset, as: UInt16.self) }
    public func readConfig32(_ offset: Int) throws(PlatformError) -> UInt32 { try readConfig(offset, as: UInt32.self) }

    public func writeConfig16(_ offset: Int, _ value: UInt16) throws(PlatformError) {
        switch try open() {
        case .vfio(let device): try device.writeConfig(offset, value)
        case .uio(let device): try device.config.write16(offset, value)
        }
    }

    public func writeConfig32(_ offset: Int, _ value: UInt32) throws(PlatformError) {
        switch try open() {
        case .vfio(let device): try device.writeConfig(offset, value)
        case .uio(let device): try device.config.write32(offset, value)
        }
    }

    public func enableBusMaster() throws(PlatformError) {
        var command = try readConfig16(0x04)
        command |= 0x4  // Bus Master Enable
        if bars.contains(where: { $0.kind == .memory }) { command |= 0x2 }  // memory space
        if bars.contains(where: { $0.kind == .io }) { command |= 0x1 }  // I/O space
        try writeConfig16(0x04, command)
    }

    public func legacyInterrupt() throws(PlatformError) -> DeviceInterrupt {
        switch try open() {
        case .vfio(let device): try device.legacyInterrupt()
        case .uio(let device): try device.legacyInterrupt()
        }
    }

    public func messageInterrupts(count: Int) throws(PlatformError) -> [DeviceInterrupt] {
        switch try open() {
        case .vfio(let device): try device.messageInterrupts(count: count)
        case .uio: throw PlatformError(.unsupported, "\(address): uio_pci_generic signals INTx only (no MSI-X)")
        }
    }

    /// Whether the device is going or gone (slow path, a driver's health
    /// check): under VFIO the kernel's device request (hot unplug, unbind;
    /// the eventfd is registered on the first call, so call it once at
    /// start), under UIO the function's sysfs directory having vanished.
    /// Registers reading all-ones is the driver's own test.
    public func removalRequested() -> Bool {
        switch backend {
        case .vfio(let device): return device.removalRequested()
        case .uio(let device): return !SystemFiles.exists(device.sysfsDevice)
        case nil: return true
        }
    }

    public func reset() throws(PlatformError) {
        switch try open() {
        case .vfio(let device): try device.reset()
        case .uio(let device): try device.reset()
        }
    }

    public func dmaMemory(size: Int, iovaMode: IOVAMode?) throws(PlatformError) -> DMAMemory {
        let memory = try DMAMemory(size: size, policy: .hugepagesRequired, iovaMode: iovaMode ?? defaultIOVAMode)
        try mapForDevice(memory)
        return memory
    }

    public func mapForDevice(_ memory: DMAMemory) throws(PlatformError) {
        let backend = try open()
        guard memory.isHugepageBacked else {
            throw PlatformError(.invalidArgument,
                "DMA memory for \(address) must be hugepage-backed (it is \(memory.backing)): reserve hugepages "
                + "(echo 256 > /proc/sys/vm/nr_hugepages) and use policy .hugepagesRequired")
        }
        switch backend {
        case .uio:
            guard memory.iovaMode == .physical else {
                throw PlatformError(.invalidArgument,
                    "\(address) is bound to uio_pci_generic, which has no IOMMU: its DMA memory needs IOVA mode .physical")
            }
            mappedMemory.append((memory, []))
        case .vfio(let device):
            var iovas = [UInt64]()
            do throws(PlatformError) {
                switch memory.iovaMode {
                case .virtual:
                    let iova = memory.iova(atOffset: 0)
                    try device.container.map(virtual: memory.base, iova: iova, size: UInt64(memory.size))
                    iovas.append(iova)
                case .physical:
                    // Each page at its physical address, so a device that
                    // bypasses the IOMMU and one that honours it agree.
                    for offset in stride(from: 0, to: memory.size, by: memory.pageSize) {
                        let iova = memory.iova(atOffset: offset)
                        try device.container.map(virtual: memory.base + offset, iova: iova, size: UInt64(memory.pageSize))
                        iovas.append(iova)
                    }
                }
            } catch {
                for iova in iovas { device.container.unmap(iova: iova) }
                throw error
            }
            mappedMemory.append((memory, iovas))
        }
    }

    public func close() {
        guard let backend else { return }
        switch backend {
        case .vfio(let device):
            for mapping in mappedMemory { for iova in mapping.iovas { device.container.unmap(iova: iova) } }
            device.close()
        case .uio(let device):
            device.close()
        }
        mappedMemory.removeAll()
        self.backend = nil
    }
}
