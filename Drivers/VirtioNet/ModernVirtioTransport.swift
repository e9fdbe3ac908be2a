import NetDevice

/// The virtio 1.x PCI transport: common configuration, notify, ISR and
/// device configuration windows found through vendor capabilities.
final class ModernVirtioTransport: VirtioTransport {
    let name = "modern"
    let isLegacy = false
    private let common: VirtioRegisterWindow
    private let notifyWindow: VirtioRegisterWindow
    private let notifyOffsetMultiplier: Int
    private let deviceConfig: VirtioRegisterWindow
    /// The ISR status byte (optional: only an interrupt-driven core reads it).
    private let isrWindow: VirtioRegisterWindow?

    // Common configuration layout (virtio 1.x, 4.1.4.3).
    private enum Common {
        static let deviceFeatureSelect = 0x00
        static let deviceFeature = 0x04
        static let driverFeatureSelect = 0x08
        static let driverFeature = 0x0c
        static let numQueues = 0x12
        static let deviceStatus = 0x14
        static let configGeneration = 0x15
        static let queueSelect = 0x16
        static let queueSize = 0x18
        static let queueMSIXVector = 0x1a
        static let queueEnable = 0x1c
        static let queueNotifyOffset = 0x1e
        static let queueDescriptors = 0x20
        static let queueDriver = 0x28
        static let queueDevice = 0x30
    }
    private static let noVector: UInt16 = 0xffff
    /// MSI-X vectors chosen per queue (setQueueVector); the rest have none.
    private var queueVectors: [Int: UInt16] = [:]

    /// Opens the windows `capabilities` describe. Throws, naming the
    /// capability, when one that is needed is missing or out of bounds.
    init(function: some VirtioPCIFunction, capabilities: VirtioPCICapabilities) throws(DeviceError) {
        func required(_ capability: VirtioPCICapability?, _ kind: VirtioPCICapability.Kind) throws(DeviceError) -> VirtioRegisterWindow {
            guard let capability else {
                let reason = capabilities.problems[kind] ?? "the device has no virtio \(kind) capability"
                throw DeviceError(.deviceFailed, "\(function.name): \(reason); the modern virtio transport cannot be used")
            }
            let registers = try function.registers(bar: capability.bar)
            return VirtioRegisterWindow(base: registers, offset: Int(capability.offset), size: Int(capability.length))
        }
        common = try required(capabilities.common, .common)
        notifyWindow = try required(capabilities.notify, .notify)
        notifyOffsetMultiplier = Int(capabilities.notify!.notifyOffsetMultiplier)
        deviceConfig = try required(capabilities.device, .device)
        isrWindow = try capabilities.isr.map { capability throws(DeviceError) in
            VirtioRegisterWindow(base: try function.registers(bar: capability.bar), offset: Int(capability.offset), size: Int(capability.length))
        }
    }

    func reset() throws(DeviceError) {
        common.write8(Common.deviceStatus, 0)
        // The device may take a while; it reads 0 when done (virtio 1.x, 4.1.4.3.2).
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(1))
        while common.read8(Common.deviceStatus) != 0 {
            guard clock.now < deadline else {
                throw DeviceError(.timedOut, "virtio device status did not read 0 within 1 s of a reset")
            }
        }
    }

    var status: UInt8 { common.read8(Common.deviceStatus) }
    func setStatus(_ status: UInt8) { common.write8(Common.deviceStatus, status) }

    func deviceFeatures() -> VirtioFeatures {
        common.write32(Common.deviceFeatureSelect, 0)
        let low = UInt64(common.read32(Common.deviceFeature))
        common.write32(Common.deviceFeatureSelect, 1)
        let high = UInt64(common.read32(Common.deviceFeature))
        return VirtioFeatures(rawValue: high << 32 | low)
    }

    func setDriverFeatures(_ features: VirtioFeatures) {
        common.write32(Common.driverFeatureSelect, 0)
        common.write32(Common.driverFeature, UInt32(truncatingIfNeeded: features.rawValue))
        common.write32(Common.driverFeatureSelect, 1)
        common.write32(Common.driverFeature, UInt32(truncatingIfNeeded: features.rawValue >> 32))
    }

    var queueCount: Int { Int(common.read16(Common.numQueues)) }

    func maximumQueueSize(_ index: Int) -> Int {
        guard index < queueCount else { return 0 }
        common.write16(Common.queueSelect, UInt16(index))
        return Int(common.read16(Common.queueSize))
    }

    func acceptsQueueSize(_ size: Int, forQueue index: Int) -> Bool {
        // Split rings take any power of two up to the maximum.
        size > 0 && size & (size - 1) == 0 && size <= maximumQueueSize(index)
    }

    func activateQueue(_ index: Int, size: Int, layout: SplitVirtqueueLayout, baseIOVA: UInt64) throws(DeviceError) {
        guard acceptsQueueSize(size, forQueue: index) else {
            throw DeviceError(.invalidConfiguration, "virtqueue \(index) takes sizes up to \(maximumQueueSize(index)) (powers of two), not \(size)")
        }
        common.write16(Common.queueSelect, UInt16(index))
        common.write16(Common.queueSize, UInt16(size))
        common.write64(Common.queueDescriptors, baseIOVA + UInt64(layout.descriptorsOffset))
        common.write64(Common.queueDriver, baseIOVA + UInt64(layout.availOffset))
        common.write64(Common.queueDevice, baseIOVA + UInt64(layout.usedOffset))
        // Polled: no vector, unless an interrupt-driven idle core chose one.
        common.write16(Common.queueMSIXVector, queueVectors[index] ?? Self.noVector)
        common.write16(Common.queueEnable, 1)
        guard common.read16(Common.queueEnable) == 1 else {
            throw DeviceError(.deviceFailed, "virtqueue \(index) did not enable (queue_enable reads 0)")
        }
    }

    func notifier(forQueue index: Int) throws(DeviceError) -> VirtqueueNotifier {
        common.write16(Common.queueSelect, UInt16(index))
        let offset = Int(common.read16(Common.queueNotifyOffset)) * notifyOffsetMultiplier
        guard offset + 2 <= notifyWindow.size else {
            throw DeviceError(.deviceFailed,
                "virtqueue \(index): doorbell at notify offset \(offset) lies outside the notify window of \(notifyWindow.size) bytes")
        }
        return VirtqueueNotifier(registers: notifyWindow.base, offset: notifyWindow.offset + offset, queueIndex: UInt16(index))
    }

    func readDeviceConfig8(_ offset: Int) -> UInt8 { deviceConfig.read8(offset) }
    func readDeviceConfig16(_ offset: Int) -> UInt16 { deviceConfig.read16(offset) }
    func readDeviceConfig32(_ offset: Int) -> UInt32 { deviceConfig.read32(offset) }
    var configGeneration: UInt8 { common.read8(Common.configGeneration) }
    func readISR() -> UInt8 { isrWindow?.read8(0) ?? 0 }

    func setQueueVector(_ index: Int, _ vector: UInt16?) -> Bool {
        guard index < queueCount else { return false }
        common.write16(Common.queueSelect, UInt16(index))
        common.write16(Common.queueMSIXVector, vector ?? Self.noVector)
        // The device answers a vector it cannot use with NO_VECTOR (4.1.4.3).
        let accepted = common.read16(Common.queueMSIXVector) == (vector ?? Self.noVector)
        queueVectors[index] = accepted ? vector : nil
        return accepted
    }
}
