import Testing
@testable import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A sysfs-shaped temporary tree holding one PCI function.
final class PCIFixture {
    let root: String
    let address = PCIAddress("0000:00:10.0")!

    init() {
        var template = Array("/tmp/dp-platform-fixture.XXXXXX".utf8CString)
        root = String(cString: mkdtemp(&template)!)
        for directory in ["", "/devices", "/devices/\(address)", "/drivers", "/dev"] { mkdir(root + directory, 0o755) }
        write("/devices/\(address)/vendor", "0x8086\n")
        write("/devices/\(address)/device", "0x100e\n")
        write("/devices/\(address)/resource", """
            0x00000000febc0000 0x00000000febdffff 0x0000000000040200
            0x000000000000c000 0x000000000000c03f 0x0000000000040101
            0x0000000000000000 0x0000000000000000 0x0000000000000000
            0x00000000fe000000 0x00000000fe003fff 0x000000000014220c

            """)
    }

    deinit {
        for file in ["/devices/\(address)/vendor", "/devices/\(address)/device", "/devices/\(address)/resource",
                     "/devices/\(address)/driver", "/devices/\(address)/iommu_group"] { unlink(root + file) }
        for directory in ["/drivers/e1000", "/drivers/vfio-pci", "/dev", "/drivers", "/devices/\(address)", "/devices", ""] {
            rmdir(root + directory)
        }
    }

    func write(_ path: String, _ text: String) {
        let fd = Glibc.open(root + path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    func bind(to driver: String) {
        mkdir(root + "/drivers/\(driver)", 0o755)
        unlink(root + "/devices/\(address)/driver")
        symlink("../../drivers/\(driver)", root + "/devices/\(address)/driver")
    }

    func open() throws(PlatformError) -> PCIDeviceAccess {
        try PCIDeviceAccess(address: address, sysfsRoot: root, devRoot: root + "/dev")
    }
}

@Suite struct PCIDeviceAccessRefusalTests {
    @Test func absentDevice() {
        let fixture = PCIFixture()
        let error = #expect(throws: PlatformError.self) {
            try PCIDeviceAccess(address: PCIAddress("0000:00:1f.0")!, sysfsRoot: fixture.root, devRoot: fixture.root + "/dev")
        }
        #expect(error?.kind == .notFound)
    }

    @Test func unboundDeviceNamesTheBindStep() {
        let fixture = PCIFixture()
        let error = #expect(throws: PlatformError.self) { try fixture.open() }
        #expect(error?.description.contains("dp-devbind bind --driver vfio-pci 0000:00:10.0") == true)
    }

    @Test func deviceOfAKernelDriverIsRefused() {
        let fixture = PCIFixture()
        fixture.bind(to: "e1000")
        let error = #expect(throws: PlatformError.self) { try fixture.open() }
        #expect(error?.description.contains("bound to the kernel driver e1000") == true)
        #expect(error?.description.contains("refusing") == true)
    }

    @Test func vfioWithoutIOMMUGroupExplainsTheEmulatedIOMMU() {
        let fixture = PCIFixture()
        fixture.bind(to: "vfio-pci")
        let error = #expect(throws: PlatformError.self) { try fixture.open() }
        #expect(error?.kind == .notFound)
        #expect(error?.description.contains("intel-iommu") == true)
        #expect(error?.description.contains("no-IOMMU") == true)
    }

    @Test func vfioWithoutVFIOModuleSaysSo() throws {
        let fixture = PCIFixture()
        fixture.bind(to: "vfio-pci")
        symlink("../../../kernel/iommu_groups/7", fixture.root + "/devices/\(fixture.address)/iommu_group")
        let (kind, group) = try PCIDeviceAccess.inspect(address: fixture.address, sysfsRoot: fixture.root)
        #expect(kind == .vfio && group == 7)
        let error = #expect(throws: PlatformError.self) { try fixture.open() }
        #expect(error?.description.contains("modprobe vfio-pci") == true)
    }

    @Test func barsFromSysfsResource() {
        let fixture = PCIFixture()
        let bars = PCIDeviceAccess.bars(resourceText: SystemFiles.read(fixture.root + "/devices/\(fixture.address)/resource")!)
        #expect(bars.map(\.index) == [0, 1, 3])
        #expect(bars.map(\.kind) == [.memory, .io, .memory])
        #expect(bars.map(\.size) == [0x20000, 0x40, 0x4000])
        #expect(bars[1].address == 0xc000)
        #expect(bars[2].is64Bit && bars[2].prefetchable)
        #expect(!bars[0].is64Bit && !bars[0].prefetchable)
    }

    @Test func accessKindsByDriverName() {
        #expect(DeviceAccessKind(kernelDriver: "vfio-pci") == .vfio)
        #expect(DeviceAccessKind(kernelDriver: "uio_pci_generic") == .uio)
        #expect(DeviceAccessKind(kernelDriver: "e1000") == nil)
    }
}

@Suite struct DeviceRegistersTests {
    @Test func memoryAccessesHitTheRightBytesLittleEndian() {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { memory.deallocate() }
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        let registers = DeviceRegisters(space: .memory(memory), size: 64)
        registers.write32(0x08, 0x1122_3344)
        registers.write16(0x10, 0xaabb)
        registers.write8(0x13, 0x7f)
        #expect(memory.load(fromByteOffset: 0x08, as: UInt8.self) == 0x44)
        #expect(registers.read32(0x08) == 0x1122_3344)
        #expect(registers.read16(0x0a) == 0x1122)
        #expect(registers.read8(0x0b) == 0x11)
        #expect(registers.read16(0x10) == 0xaabb)
        #expect(registers.read32(0x10) == 0x7f00_aabb)
        #expect(registers.baseAddress == memory)
        #expect(!registers.isPortSpace)
    }

    @Test func fileRegionAccessesUsePreadAndPwrite() {
        // A VFIO region is a window at an offset of the device file; a plain
        // file stands in for it.
        var template = Array("/tmp/dp-region.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        defer { close(fd); unlink(String(cString: template)) }
        ftruncate(fd, 0x2000)
        let registers = DeviceRegisters(space: .vfioRegion(fd: fd, offset: 0x1000), size: 0x40)
        registers.write32(0x00, 0xdead_beef)
        registers.write16(0x12, 0x1234)
        registers.write8(0x14, 0x56)
        #expect(registers.read32(0x00) == 0xdead_beef)
        #expect(registers.read16(0x12) == 0x1234)
        #expect(registers.read8(0x14) == 0x56)
        var raw: UInt32 = 0
        #expect(pread(fd, &raw, 4, 0x1000) == 4)
        #expect(raw == 0xdead_beef)
        #expect(registers.isPortSpace)
        // A failed read gives all ones, as from a vanished PCI device.
        let gone = DeviceRegisters(space: .vfioRegion(fd: -1, offset: 0), size: 4)
        #expect(gone.read32(0) == 0xffff_ffff)
    }
}
