import CPCI
#if canImport(Glibc)
import Glibc
#endif

/// One base address register of a PCI function.
public struct PCIBar: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case memory, io }
    public let index: Int
    public let kind: Kind
    /// Bus address (memory) or port base (I/O).
    public let address: UInt64
    public let size: UInt64
    public let is64Bit: Bool
    public let prefetchable: Bool

    public var description: String {
        "BAR\(index) \(kind.rawValue) 0x\(String(address, radix: 16)) size 0x\(String(size, radix: 16))"
            + (is64Bit ? " 64-bit" : "") + (prefetchable ? " prefetchable" : "")
    }
}

/// A PCI function as the system sees it: identity, name, BARs, the kernel
/// driver bound to it and the network interfaces it carries.
public struct PCIDevice: Sendable, Equatable, CustomStringConvertible {
    public let address: PCIAddress
    public let vendorID: UInt16
    public let deviceID: UInt16
    /// Class and subclass, e.g. 0x0200 for an Ethernet controller.
    public let classCode: UInt16
    /// "Intel Corporation 82540EM Gigabit Ethernet Controller", from pci.ids.
    public let name: String
    public let bars: [PCIBar]
    public let numaNode: Int?
    /// The kernel driver bound now ("e1000", "vfio-pci"), or nil.
    public let driver: String?
    /// Kernel network interfaces on this function ("eth0").
    public let interfaces: [String]
    /// The IOMMU group number, when the device sits behind an IOMMU.
    public let iommuGroup: Int?

    /// Network controllers (class 0x02).
    public var isNetworkController: Bool { classCode >> 8 == 0x02 }

    public var description: String {
        "\(address) [\(hex(vendorID, 4)):\(hex(deviceID, 4))] \(name) driver=\(driver ?? "none")"
            + (interfaces.isEmpty ? "" : " if=\(interfaces.joined(separator: ","))")
    }
}

/// Read-only discovery of PCI devices through libpci (identity, names,
/// BARs) and sysfs (driver, interfaces, IOMMU group). Nothing here writes
/// to a device or binds a driver.
public enum PCIBus {
    /// Lists every PCI function, sorted by address. `sysfsRoot` points at
    /// /sys/bus/pci (a fixture tree in tests).
    public static func devices(sysfsRoot: String = "/sys/bus/pci") throws(PlatformError) -> [PCIDevice] {
        // libpci's error handler exits the process: check what it would fail on first.
        guard let directory = opendir(sysfsRoot + "/devices") else {
            throw .systemCall("open \(sysfsRoot)/devices (is sysfs mounted?)")
        }
        closedir(directory)
        guard let access = pci_alloc() else { throw PlatformError(.systemCall, "pci_alloc failed") }
        defer { pci_cleanup(access) }
        let devicesPath = sysfsRoot + "/devices"
        let parameter = strdup("sysfs.path")
        let value = strdup(sysfsRoot)  // libpci appends "/devices" itself
        defer { free(parameter); free(value) }
        _ = pci_set_param(access, parameter, value)
        access.pointee.method = UInt32(PCI_ACCESS_SYS_BUS_PCI.rawValue)
        pci_init(access)
        pci_scan_bus(access)

        var result = [PCIDevice]()
        var cursor = access.pointee.devices
        var nameBuffer = [CChar](repeating: 0, count: 256)
        while let device = cursor {
            cursor = device.pointee.next
            let fields = PCI_FILL_IDENT | PCI_FILL_BASES | PCI_FILL_SIZES | PCI_FILL_CLASS
                | PCI_FILL_IO_FLAGS | PCI_FILL_NUMA_NODE
            pci_fill_info(device, Int32(fields))
            let d = device.pointee
            let address = PCIAddress(
                domain: UInt32(bitPattern: d.domain), bus: d.bus, device: d.dev, function: d.func)
            let name = nameBuffer.withUnsafeMutableBufferPointer { buffer in
                String(cString: dp_pci_device_name(
                    access, buffer.baseAddress, Int32(buffer.count), UInt32(d.vendor_id), UInt32(d.device_id)))
            }
            let sysfs = devicesPath + "/" + address.description
            result.append(PCIDevice(
                address: address, vendorID: d.vendor_id, deviceID: d.device_id, classCode: d.device_class,
                name: name, bars: bars(of: d), numaNode: d.numa_node >= 0 ? Int(d.numa_node) : nil,
                driver: SystemFiles.readLink(sysfs + "/driver").map(lastComponent),
                interfaces: SystemFiles.list(sysfs + "/net"),
                iommuGroup: SystemFiles.readLink(sysfs + "/iommu_group").map(lastComponent).flatMap { Int($0) }))
        }
        return result.sorted { $0.address < $1.address }
    }

    /// The device at `address`, or nil.
    public static func device(at address: PCIAddress, sysfsRoot: String = "/sys/bus/pci") throws(PlatformError) -> PCIDevice? {
        try devices(sysfsRoot: sysfsRoot).first { $0.address == address }
    }

    private static func bars(of device: pci_dev) -> [PCIBar] {
        var bars = [PCIBar]()
        let bases = withUnsafeBytes(of: device.base_addr) { Array($0.bindMemory(to: pciaddr_t.self)) }
        let sizes = withUnsafeBytes(of: device.size) { Array($0.bindMemory(to: pciaddr_t.self)) }
        for index in 0..<6 where sizes[index] != 0 {
            let base = bases[index]
            let isIO = base & UInt64(PCI_BASE_ADDRESS_SPACE_IO) != 0
            let address = isIO ? base & ~UInt64(0x3) : base & ~UInt64(0xf)
            bars.append(PCIBar(
                index: index, kind: isIO ? .io : .memory, address: address, size: sizes[index],
                is64Bit: !isIO && base & UInt64(PCI_BASE_ADDRESS_MEM_TYPE_64) != 0,
                prefetchable: !isIO && base & UInt64(PCI_BASE_ADDRESS_MEM_PREFETCH) != 0))
        }
        return bars
    }

    private static func lastComponent(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }
}
