import Glibc
import NetDevice
@testable import Platform
@testable import VirtioNet

/// The PCI face of a `SoftwareVirtioNetDevice`: config space with the
/// virtio capability chain (behind an unrelated capability, as on QEMU's
/// devices), a memory BAR 4 for the modern registers and, for legacy or
/// transitional devices, an I/O BAR 0. DMA memory is anonymous with IOVA =
/// virtual address.
final class SoftwarePCIFunction: VirtioPCIFunction {
    let device: SoftwareVirtioNetDevice
    let name = "0000:00:04.0 (software model)"
    let vendorID: UInt16 = 0x1af4
    var deviceID: UInt16 { device.setup.deviceID }
    var isBehindIOMMU: Bool { device.setup.behindIOMMU }
    private(set) var config = [UInt8](repeating: 0, count: 256)
    private(set) var mappedRegions: [DMAMemory] = []
    private(set) var busMaster = false

    init(_ device: SoftwareVirtioNetDevice) {
        self.device = device
        buildConfigSpace()
    }

    private func put16(_ offset: Int, _ value: UInt16) {
        config[offset] = UInt8(value & 0xff)
        config[offset + 1] = UInt8(value >> 8)
    }

    private func put32(_ offset: Int, _ value: UInt32) {
        for i in 0..<4 { config[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    private func buildConfigSpace() {
        put16(0, vendorID)
        put16(2, deviceID)
        let modern = !device.setup.legacy
        guard modern else { return }
        put16(6, 0x10)  // capability list present
        config[0x34] = 0x40
        // An MSI-X capability first, which the walk must skip.
        config[0x40] = 0x11
        config[0x41] = 0x50
        config[0x42] = 12
        var offset = 0x50
        let kinds: [VirtioPCICapability.Kind] = [.common, .isr, .device, .notify]
        for (i, kind) in kinds.enumerated() {
            let window = device.window(kind)
            let length = kind == .notify ? 20 : 16
            config[offset] = 0x09
            config[offset + 1] = i == kinds.count - 1 ? 0 : UInt8(offset + 20)
            config[offset + 2] = UInt8(length)
            config[offset + 3] = kind.rawValue
            config[offset + 4] = 4
            put32(offset + 8, window.offset)
            put32(offset + 12, window.length)
            if kind == .notify { put32(offset + 16, device.setup.notifyOffsetMultiplier) }
            offset += 20
        }
    }

    func bar(_ index: Int) -> (size: Int, isIOSpace: Bool)? {
        switch index {
        case 0 where device.setup.legacy || device.setup.deviceID == 0x1000: return (SoftwareVirtioNetDevice.legacyBARSize, true)
        case 4 where !device.setup.legacy: return (SoftwareVirtioNetDevice.modernBARSize, false)
        default: return nil
        }
    }

    func registers(bar index: Int) throws(DeviceError) -> any VirtioRegisters {
        guard let bar = bar(index) else { throw DeviceError(.notFound, "no BAR\(index)") }
        return SoftwareRegisters(device: device, legacy: index == 0, size: bar.size)
    }

    func readConfig8(_ offset: Int) throws(DeviceError) -> UInt8 { config[offset] }
    func readConfig16(_ offset: Int) throws(DeviceError) -> UInt16 { UInt16(config[offset]) | UInt16(config[offset + 1]) << 8 }
    func readConfig32(_ offset: Int) throws(DeviceError) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(config[offset + $1]) << (8 * $1) }
    }

    func dmaMemory(size: Int, iovaMode: IOVAMode?) throws(DeviceError) -> DMAMemory {
        do {
            let memory = try DMAMemory(size: size, policy: .anonymous, iovaMode: .virtual)
            mappedRegions.append(memory)
            // The model's legacy PFN register carries 32 bits of page
            // number; with IOVA = virtual address the rest comes from here.
            device.legacyAddressHighBits = UInt64(UInt(bitPattern: memory.base)) & ~((1 << 44) - 1)
            return memory
        } catch {
            throw DeviceError(.accessFailed, "\(error)")
        }
    }

    func mapForDevice(_ memory: DMAMemory) throws(DeviceError) { mappedRegions.append(memory) }
    func enableBusMaster() throws(DeviceError) { busMaster = true }
    /// IOVAs are virtual addresses here, far above 16 TiB.
    var legacyQueueAddressLimit: UInt64 { .max }

    /// Eventfds standing for MSI-X vectors, as VFIO gives them (the model
    /// never signals them; the lab test does that on QEMU).
    private(set) var messageInterruptsMade: [DeviceInterrupt] = []

    func messageInterrupts(count: Int) throws(DeviceError) -> [DeviceInterrupt] {
        guard count > 0, count <= device.setup.msixVectors else {
            throw DeviceError(.unsupported, "\(device.setup.msixVectors) MSI-X vectors; \(count) wanted")
        }
        if messageInterruptsMade.isEmpty {
            messageInterruptsMade = (0..<count).map { _ in
                DeviceInterrupt(descriptor: open("/dev/null", O_RDONLY), countSize: 8, owned: true) {}
            }
        }
        return messageInterruptsMade
    }
}

/// Register accesses routed to the model, with the bounds check a real BAR
/// mapping would fault on.
final class SoftwareRegisters: VirtioRegisters {
    let device: SoftwareVirtioNetDevice
    let legacy: Bool
    let size: Int

    init(device: SoftwareVirtioNetDevice, legacy: Bool, size: Int) {
        self.device = device
        self.legacy = legacy
        self.size = size
    }

    private func read(_ offset: Int, _ width: Int) -> UInt32 {
        precondition(offset >= 0 && offset + width <= size, "read of \(width) bytes at \(offset) outside a BAR of \(size) bytes")
        return legacy ? device.legacyRead(offset, width: width) : device.modernRead(offset, width: width)
    }

    private func write(_ offset: Int, _ value: UInt32, _ width: Int) {
        precondition(offset >= 0 && offset + width <= size, "write of \(width) bytes at \(offset) outside a BAR of \(size) bytes")
        legacy ? device.legacyWrite(offset, value, width: width) : device.modernWrite(offset, value, width: width)
    }

    func read8(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: read(offset, 1)) }
    func read16(_ offset: Int) -> UInt16 { UInt16(truncatingIfNeeded: read(offset, 2)) }
    func read32(_ offset: Int) -> UInt32 { read(offset, 4) }
    func write8(_ offset: Int, _ value: UInt8) { write(offset, UInt32(value), 1) }
    func write16(_ offset: Int, _ value: UInt16) { write(offset, UInt32(value), 2) }
    func write32(_ offset: Int, _ value: UInt32) { write(offset, value, 4) }
}
