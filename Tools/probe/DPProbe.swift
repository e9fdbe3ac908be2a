import ArgumentParser
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// The guest half of `dp-lab check`: opens each lab NIC through the device
/// access layer and checks what a driver will rely on. Prints one line per
/// check, "DP-PROBE ADDRESS KIND CHECK pass|fail DETAIL", for dp-lab to read.
@main
struct DPProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-probe",
        abstract: "Check device access (BARs, registers, reset, DMA memory) on lab NICs, inside the dp-lab guest.")

    @Option(help: "The driver the devices must be bound to: vfio or uio.")
    var access: String

    @Option(name: .customLong("mac"), help: "Expected e1000 MAC, ADDRESS=MAC (repeatable).")
    var macs: [String] = []

    @Argument(help: "PCI addresses of the lab NICs.")
    var addresses: [String]

    func run() throws {
        guard let kind = DeviceAccessKind(rawValue: access) else { throw ValidationError("--access is vfio or uio") }
        var expectedMACs = [String: String]()
        for item in macs {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--mac takes ADDRESS=MAC") }
            expectedMACs[parts[0]] = parts[1].lowercased()
        }
        var probes = [DeviceProbe]()
        for text in addresses {
            guard let address = PCIAddress(text) else { throw ValidationError("\(text) is not a PCI address") }
            probes.append(DeviceProbe(address: address, access: kind, expectedMAC: expectedMACs[text] ?? expectedMACs[address.description]))
        }
        // Every device stays open until all are checked, as in a multi-port
        // application: under VFIO their groups share one container and its
        // DMA mappings. Then all close, and each must open again cleanly.
        var opened = [PCIDeviceAccess]()
        for index in probes.indices {
            if let device = probes[index].run() { opened.append(device) }
        }
        for device in opened { device.close() }
        for index in probes.indices { probes[index].reopen() }
        let failures = probes.reduce(0) { $0 + $1.failures }
        print("DP-PROBE-SUMMARY devices=\(addresses.count) failures=\(failures)")
        if failures > 0 { throw ExitCode.failure }
    }
}

/// The checks for one device.
struct DeviceProbe {
    let address: PCIAddress
    let access: DeviceAccessKind
    let expectedMAC: String?
    var kindName = "unknown"
    var failures = 0

    init(address: PCIAddress, access: DeviceAccessKind, expectedMAC: String?) {
        self.address = address
        self.access = access
        self.expectedMAC = expectedMAC
    }

    mutating func report(_ check: String, _ passed: Bool, _ detail: String) {
        if !passed { failures += 1 }
        let clean = detail.map { $0 == "\n" ? " " : $0 }
        print("DP-PROBE \(address) \(kindName) \(check) \(passed ? "pass" : "fail") \(String(clean))")
    }

    /// Runs the checks; returns the device, still open, when it opened.
    mutating func run() -> PCIDeviceAccess? {
        let sysfs = "/sys/bus/pci/devices/\(address)"
        let vendor = SystemFiles.readInteger(sysfs + "/vendor") ?? -1
        let device = SystemFiles.readInteger(sysfs + "/device") ?? -1
        switch (vendor, device) {
        case (0x8086, 0x100e): kindName = "e1000"
        case (0x1af4, 0x1041): kindName = "virtio"
        case (0x1af4, 0x1000): kindName = "virtio-legacy"
        default: break
        }
        guard vendor >= 0 else {
            report("found", false, "no device at \(address)")
            return nil
        }
        report("found", kindName != "unknown", "id \(String(vendor, radix: 16)):\(String(device, radix: 16))")
        let driver = SystemFiles.readLink(sysfs + "/driver").map { String($0.split(separator: "/").last ?? "") } ?? "none"
        report("bound", driver == access.kernelDriver, "driver=\(driver)")

        let opened: PCIDeviceAccess
        do { opened = try PCIDeviceAccess(address: address) } catch {
            report("open", false, "\(error)")
            return nil
        }
        report("open", true, "\(opened.kind.rawValue), bars: " + opened.bars.map { "\($0.index)=\($0.kind.rawValue)/\($0.size)" }.joined(separator: ","))
        do {
            switch kindName {
            case "e1000": try checkE1000(opened)
            case "virtio": try checkModernVirtio(opened)
            case "virtio-legacy": try checkLegacyVirtio(opened)
            default: break
            }
        } catch {
            report("registers", false, "\(error)")
        }
        guard let memory = checkDMA(opened, iovaMode: kindName == "virtio-legacy" ? .physical : nil) else {
            report("tx", false, "no DMA memory to transmit from")
            return opened
        }
        do {
            switch kindName {
            case "e1000": try transmitE1000(opened, memory)
            case "virtio": try transmitModernVirtio(opened, memory)
            case "virtio-legacy": try transmitLegacyVirtio(opened, memory)
            default: break
            }
        } catch {
            report("tx", false, "\(error)")
        }
        return opened
    }

    /// After every device was closed: opens again, reads the identity
    /// through the access layer and a register, and closes.
    mutating func reopen() {
        do {
            let device = try PCIDeviceAccess(address: address)
            defer { device.close() }
            let identity = try device.readConfig32(0x00)
            let bar = device.bars.first { $0.kind == .memory } ?? device.bars.first
            let registers = try device.bar(bar?.index ?? 0)
            let value = registers.size >= 4 ? registers.read32(0) : 0
            report("reopen", identity == UInt32(device.deviceID) << 16 | UInt32(device.vendorID) && value != 0xffff_ffff,
                "after closing every device: config id 0x\(String(identity, radix: 16)), BAR\(bar?.index ?? 0) reads 0x\(String(value, radix: 16))")
        } catch {
            report("reopen", false, "\(error)")
        }
    }

    // MARK: e1000: STATUS.LU and the MAC in receive address 0 (RAL0/RAH0)

    mutating func checkE1000(_ device: PCIDeviceAccess) throws(PlatformError) {
        let registers = try device.bar(0)
        report("bar", registers.baseAddress != nil, "BAR0 memory \(registers.size) bytes mapped")
        let status = registers.read32(0x0008)
        report("link", status & 0x2 != 0, String(format8(status)) + " (STATUS.LU)")
        let low = registers.read32(0x5400)
        let high = registers.read32(0x5404)
        let bytes = [low, low >> 8, low >> 16, low >> 24, high, high >> 8].map { UInt8(truncatingIfNeeded: $0) }
        let mac = bytes.map { hex2($0) }.joined(separator: ":")
        let valid = high & 0x8000_0000 != 0
        let matches = expectedMAC.map { $0 == mac } ?? true
        report("mac", valid && matches, "\(mac)" + (valid ? "" : " (RAH.AV clear)") + (expectedMAC.map { matches ? "" : " expected \($0)" } ?? ""))
    }

    // MARK: virtio 1.0: common configuration through the PCI capability list

    mutating func checkModernVirtio(_ device: PCIDeviceAccess) throws(PlatformError) {
        guard let common = try virtioCapability(device, type: 1) else {
            return report("bar", false, "no virtio common-configuration capability")
        }
        let registers = try device.bar(common.bar)
        report("bar", registers.baseAddress != nil, "BAR\(common.bar) memory \(registers.size) bytes mapped, common cfg at 0x\(String(common.offset, radix: 16))")
        let base = common.offset
        registers.write32(base + 0x00, 0)
        let low = registers.read32(base + 0x04)
        registers.write32(base + 0x00, 1)
        let high = registers.read32(base + 0x04)
        let features = UInt64(high) << 32 | UInt64(low)
        let version1 = features & (1 << 32) != 0
        let accessPlatform = features & (1 << 33) != 0
        let platformOK = access == .vfio ? accessPlatform : true
        report("features", version1 && platformOK,
            "0x\(String(features, radix: 16)) VERSION_1=\(version1 ? "yes" : "no") ACCESS_PLATFORM=\(accessPlatform ? "yes" : "no")")
        try checkReset(statusRead: { registers.read8(base + 0x14) }, statusWrite: { registers.write8(base + 0x14, $0) })
    }

    /// (bar, offset) of the virtio vendor capability of `type`.
    func virtioCapability(_ device: PCIDeviceAccess, type: UInt8) throws(PlatformError) -> (bar: Int, offset: Int)? {
        guard try device.readConfig16(0x06) & 0x10 != 0 else { return nil }
        var pointer = Int(try device.readConfig8(0x34) & 0xfc)
        var steps = 0
        while pointer != 0 && steps < 48 {
            steps += 1
            let id = try device.readConfig8(pointer)
            if id == 0x09, try device.readConfig8(pointer + 3) == type {
                return (Int(try device.readConfig8(pointer + 4)), Int(try device.readConfig32(pointer + 8)))
            }
            pointer = Int(try device.readConfig8(pointer + 1) & 0xfc)
        }
        return nil
    }

    // MARK: virtio 0.9.5: the I/O-port BAR0 header

    mutating func checkLegacyVirtio(_ device: PCIDeviceAccess) throws(PlatformError) {
        let registers = try device.bar(0)
        report("bar", registers.isPortSpace, "BAR0 I/O ports, \(registers.size) bytes, " + (access == .vfio ? "pread/pwrite on the VFIO device" : "in/out after iopl(3)"))
        let features = registers.read32(0x00)
        // 32 feature bits: VERSION_1 (bit 32) cannot be offered; MAC (bit 5) must be.
        report("features", features != 0xffff_ffff && features & (1 << 5) != 0,
            "0x\(String(features, radix: 16)) (32 bits) VERSION_1=no MAC=\(features & (1 << 5) != 0 ? "yes" : "no")")
        try checkReset(statusRead: { registers.read8(0x12) }, statusWrite: { registers.write8(0x12, $0) })
    }

    /// ACKNOWLEDGE must read back, then a reset (status 0) must read 0.
    mutating func checkReset(statusRead: () -> UInt8, statusWrite: (UInt8) -> Void) throws(PlatformError) {
        statusWrite(0)
        statusWrite(1)
        let acknowledged = statusRead()
        statusWrite(0)
        var status = statusRead()
        var tries = 0
        while status != 0 && tries < 1000 {
            usleep(1000)
            status = statusRead()
            tries += 1
        }
        report("reset", acknowledged == 1 && status == 0, "status after ACKNOWLEDGE \(acknowledged), after reset \(status)")
    }

    // MARK: DMA memory with IOVAs, and bus mastering

    /// Maps DMA memory and checks its IOVAs; returns it for the transmit check.
    mutating func checkDMA(_ device: PCIDeviceAccess, iovaMode: IOVAMode?) -> DMAMemory? {
        do {
            try device.enableBusMaster()
            let command = try device.readConfig16(0x04)
            report("busmaster", command & 0x4 != 0, "command 0x\(String(command, radix: 16))")
            let memory = try device.dmaMemory(size: 4 << 20, iovaMode: iovaMode)
            let first = memory.iova(atOffset: 0)
            // Pages of IOVA = PA memory need not be in order: list each.
            let pages = stride(from: 0, to: memory.size, by: memory.pageSize)
                .map { "0x" + String(memory.iova(atOffset: $0), radix: 16) }.joined(separator: ",")
            var valid = memory.isHugepageBacked && first != 0
            switch memory.iovaMode {
            case .virtual:
                valid = valid && first == UInt64(UInt(bitPattern: memory.base))
            case .physical:
                let physical = try PageMap.physicalAddress(of: memory.base)
                valid = valid && physical == first
            }
            memory.base.storeBytes(of: 0x5a5a_a5a5 as UInt32, as: UInt32.self)
            valid = valid && memory.base.load(as: UInt32.self) == 0x5a5a_a5a5
            report("dma", valid,
                "\(memory.size >> 20) MiB \(memory.backing), iova=\(memory.iovaMode == .virtual ? "va" : "pa")"
                + " pages at \(pages)"
                + (device.kind == .vfio ? " mapped with VFIO_IOMMU_MAP_DMA" : ""))
            return valid ? memory : nil
        } catch {
            report("dma", false, "\(error)")
            return nil
        }
    }
}

func hex2(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
}

func format8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "STATUS=0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
