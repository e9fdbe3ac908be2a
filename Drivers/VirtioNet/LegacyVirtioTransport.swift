import NetDevice

/// The legacy (virtio 0.9.5) PCI transport: a register block in I/O-port
/// BAR0. Feature words are 32 bits (so no VERSION_1, no ACCESS_PLATFORM),
/// queue sizes are fixed by the device, and a queue is one physically
/// contiguous area given by its page frame number.
final class LegacyVirtioTransport: VirtioTransport {
    let name = "legacy"
    let isLegacy = true
    private let registers: any VirtioRegisters
    private let addressLimit: UInt64

    // Register block (virtio 1.x, 4.1.4.8).
    private enum Register {
        static let deviceFeatures = 0x00
        static let driverFeatures = 0x04
        static let queueAddress = 0x08
        static let queueSize = 0x0c
        static let queueSelect = 0x0e
        static let queueNotify = 0x10
        static let deviceStatus = 0x12
        static let isr = 0x13
        /// Device configuration follows; at 0x18 only with MSI-X enabled,
        /// which this driver never does (its interrupt is INTx).
        static let deviceConfig = 0x14
    }
    static let queueAlignment = 4096
    static let pageShift: UInt64 = 12

    init(function: some VirtioPCIFunction) throws(DeviceError) {
        guard let bar = function.bar(0), bar.size >= Register.deviceConfig + VirtioNetConfig.sizeUsed else {
            throw DeviceError(.deviceFailed,
                "\(function.name): legacy virtio needs BAR0 of at least \(Register.deviceConfig + VirtioNetConfig.sizeUsed) bytes; "
                + "the device has \(function.bar(0).map { "\($0.size) bytes" } ?? "none")")
        }
        registers = try function.registers(bar: 0)
        addressLimit = function.legacyQueueAddressLimit
    }

    func reset() throws(DeviceError) {
        registers.write8(Register.deviceStatus, 0)
        // Reading back flushes the write; the legacy reset is immediate.
        _ = registers.read8(Register.deviceStatus)
    }

    var status: UInt8 { registers.read8(Register.deviceStatus) }
    func setStatus(_ status: UInt8) { registers.write8(Register.deviceStatus, status) }

    func deviceFeatures() -> VirtioFeatures { VirtioFeatures(rawValue: UInt64(registers.read32(Register.deviceFeatures))) }
    func setDriverFeatures(_ features: VirtioFeatures) {
        registers.write32(Register.driverFeatures, UInt32(truncatingIfNeeded: features.rawValue))
    }

    func maximumQueueSize(_ index: Int) -> Int {
        registers.write16(Register.queueSelect, UInt16(index))
        return Int(registers.read16(Register.queueSize))
    }

    func acceptsQueueSize(_ size: Int, forQueue index: Int) -> Bool { size > 0 && size == maximumQueueSize(index) }

    func activateQueue(_ index: Int, size: Int, layout: SplitVirtqueueLayout, baseIOVA: UInt64) throws(DeviceError) {
        guard acceptsQueueSize(size, forQueue: index) else {
            throw DeviceError(.invalidConfiguration, "legacy virtqueue \(index) has the fixed size \(maximumQueueSize(index)), not \(size)")
        }
        guard layout.isLegacyLayout, baseIOVA % UInt64(Self.queueAlignment) == 0, baseIOVA < addressLimit else {
            throw DeviceError(.invalidConfiguration,
                "legacy virtqueue \(index) at IOVA 0x\(String(baseIOVA, radix: 16)): it must be 4 KiB aligned, below 16 TiB "
                + "(a 32-bit page number) and laid out contiguously")
        }
        registers.write16(Register.queueSelect, UInt16(index))
        registers.write32(Register.queueAddress, UInt32(truncatingIfNeeded: baseIOVA >> Self.pageShift))
    }

    func notifier(forQueue index: Int) throws(DeviceError) -> VirtqueueNotifier {
        VirtqueueNotifier(registers: registers, offset: Register.queueNotify, queueIndex: UInt16(index))
    }

    func readDeviceConfig8(_ offset: Int) -> UInt8 { registers.read8(Register.deviceConfig + offset) }
    func readDeviceConfig16(_ offset: Int) -> UInt16 { registers.read16(Register.deviceConfig + offset) }
    func readDeviceConfig32(_ offset: Int) -> UInt32 { registers.read32(Register.deviceConfig + offset) }
    var configGeneration: UInt8 { 0 }
    func readISR() -> UInt8 { registers.read8(Register.isr) }
    func setQueueVector(_ index: Int, _ vector: UInt16?) -> Bool { vector == nil }
}
