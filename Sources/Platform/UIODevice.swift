import CPlatform
#if canImport(Glibc)
import Glibc
#endif

/// A PCI function bound to uio_pci_generic: BARs mapped through sysfs
/// `resourceN`, config space through sysfs `config`, I/O-port BARs through
/// in/out after iopl(3). There is no IOMMU: devices see physical addresses.
///
/// iopl(3) holds for the calling thread and threads it creates afterwards:
/// map an I/O-port BAR (`bar(n)`) before launching the cores that use it.
final class UIODevice {
    let address: PCIAddress
    let sysfsDevice: String
    let config: PCIConfigSpace
    /// /dev/uioN, held open while the device is in use.
    private var uioFD: Int32
    private var mappedBars: [Int: (pointer: UnsafeMutableRawPointer, size: Int)] = [:]
    private var hasIOPrivilege = false

    init(address: PCIAddress, sysfsRoot: String, devRoot: String) throws(PlatformError) {
        self.address = address
        sysfsDevice = sysfsRoot + "/devices/\(address)"
        config = PCIConfigSpace(address: address, sysfsRoot: sysfsRoot)
        guard let uio = SystemFiles.list(sysfsDevice + "/uio").first(where: { $0.hasPrefix("uio") }) else {
            throw PlatformError(.notFound, "\(address) is bound to uio_pci_generic but has no uio device in \(sysfsDevice)/uio")
        }
        let path = devRoot + "/" + uio
        uioFD = dp_open(path, O_RDWR | O_CLOEXEC)
        guard uioFD >= 0 else { throw .systemCall("open \(path) (the UIO device of \(address); needs root)") }
    }

    deinit { close() }

    /// Start, end and flags of each BAR from sysfs `resource` (one line per
    /// resource: "0x... 0x... 0x...").
    static func resources(_ text: String) -> [(start: UInt64, end: UInt64, flags: UInt64)] {
        text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ").map { UInt64($0.dropFirst(2), radix: 16) ?? 0 }
            return fields.count >= 3 ? (fields[0], fields[1], fields[2]) : (0, 0, 0)
        }
    }

    func bar(_ index: Int) throws(PlatformError) -> DeviceRegisters {
        if let mapped = mappedBars[index] { return DeviceRegisters(space: .memory(mapped.pointer), size: mapped.size) }
        let table = Self.resources(SystemFiles.read(sysfsDevice + "/resource") ?? "")
        guard index >= 0, index < min(6, table.count), table[index].end > table[index].start else {
            throw PlatformError(.notFound, "\(address) has no BAR\(index)")
        }
        let resource = table[index]
        let size = Int(resource.end - resource.start + 1)
        // IORESOURCE_IO = 0x100: a port BAR.
        if resource.flags & 0x100 != 0 {
            guard resource.end <= 0xffff else {
                throw PlatformError(.unsupported, "I/O BAR\(index) of \(address) lies above port 0xffff")
            }
            if !hasIOPrivilege {
                guard dp_iopl(3) == 0 else {
                    throw .systemCall("iopl(3) for the I/O-port BAR\(index) of \(address) (needs root / CAP_SYS_RAWIO)")
                }
                hasIOPrivilege = true
            }
            return DeviceRegisters(space: .ports(base: UInt16(resource.start)), size: size)
        }
        let path = sysfsDevice + "/resource\(index)"
        let fd = dp_open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("open \(path)") }
        defer { Glibc.close(fd) }
        let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let pointer, pointer != MAP_FAILED else { throw .systemCall("mmap \(path) (\(size) bytes)") }
        mappedBars[index] = (pointer, size)
        return DeviceRegisters(space: .memory(pointer), size: size)
    }

    private var interrupt: DeviceInterrupt?

    /// /dev/uioN as the INTx descriptor (DeviceInterrupt), set up once.
    func legacyInterrupt() throws(PlatformError) -> DeviceInterrupt {
        if let interrupt { return interrupt }
        guard uioFD >= 0 else { throw PlatformError(.notFound, "\(address): the UIO device is closed") }
        let made = try DeviceInterrupt.uio(fd: uioFD, configPath: config.path, address: address)
        interrupt = made
        return made
    }

    /// A function-level reset through sysfs (FLR, PM or bus reset, as the
    /// kernel finds one).
    func reset() throws(PlatformError) {
        let path = sysfsDevice + "/reset"
        guard SystemFiles.exists(path) else {
            throw PlatformError(.unsupported, "\(address) offers no reset (no \(path)): reset it through its own registers")
        }
        try SystemFiles.write("1", to: path)
    }

    func close() {
        guard uioFD >= 0 else { return }
        for (_, mapped) in mappedBars { munmap(mapped.pointer, mapped.size) }
        mappedBars.removeAll()
        Glibc.close(uioFD)
        uioFD = -1
    }
}
