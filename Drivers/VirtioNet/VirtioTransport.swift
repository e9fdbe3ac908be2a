import NetDevice

/// How the driver reaches a virtio device's control registers: the modern
/// PCI transport (capabilities into memory BARs) or the legacy one (an
/// I/O-port register block). Everything here is set-up, except the
/// notifier each queue keeps for its doorbell.
protocol VirtioTransport: AnyObject {
    /// "modern" or "legacy", for messages and `DeviceInfo`.
    var name: String { get }
    var isLegacy: Bool { get }

    /// Writes 0 to the status register and waits until the device reads
    /// back 0 (its reset has finished).
    func reset() throws(DeviceError)
    var status: UInt8 { get }
    func setStatus(_ status: UInt8)

    func deviceFeatures() -> VirtioFeatures
    func setDriverFeatures(_ features: VirtioFeatures)

    /// The largest size queue `index` takes; 0 when the queue does not exist.
    func maximumQueueSize(_ index: Int) -> Int
    /// Whether `size` may be chosen for queue `index` (legacy: only the
    /// device's own size).
    func acceptsQueueSize(_ size: Int, forQueue index: Int) -> Bool
    /// Tells the device where queue `index` lives and enables it.
    func activateQueue(_ index: Int, size: Int, layout: SplitVirtqueueLayout, baseIOVA: UInt64) throws(DeviceError)
    func notifier(forQueue index: Int) throws(DeviceError) -> VirtqueueNotifier

    /// Device-specific configuration (virtio-net: MAC, status, pairs, MTU).
    func readDeviceConfig8(_ offset: Int) -> UInt8
    func readDeviceConfig16(_ offset: Int) -> UInt16
    func readDeviceConfig32(_ offset: Int) -> UInt32
    /// Changes whenever the device configuration changes (modern); reads of
    /// more than one field repeat until it is stable. Legacy: always 0.
    var configGeneration: UInt8 { get }
    /// Reads (and so clears) the ISR status byte (virtio 1.x, 4.1.4.5): bit 0
    /// a queue interrupt, bit 1 a configuration change; the read also drops
    /// the INTx line. 0 when the device has no ISR window.
    func readISR() -> UInt8
    /// Routes queue `index`'s interrupts to MSI-X vector `vector` (nil: no
    /// vector, the default) and keeps the choice for later activations (a
    /// re-initialisation). False when the device refused it (it reads back
    /// NO_VECTOR) or the transport has no per-queue vector (legacy: MSI-X
    /// there also moves the device configuration, so it is not used).
    func setQueueVector(_ index: Int, _ vector: UInt16?) -> Bool
}

extension VirtioTransport {
    /// ORs `bits` into the status register.
    func addStatus(_ bits: UInt8) { setStatus(status | bits) }

    /// Reads `count` bytes of device configuration consistently (the
    /// generation counter did not move meanwhile).
    func readDeviceConfigBytes(_ offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8]()
        for _ in 0..<16 {
            let before = configGeneration
            bytes = (0..<count).map { readDeviceConfig8(offset + $0) }
            if configGeneration == before { break }
        }
        return bytes
    }
}

/// A queue's doorbell: one 16-bit write of the queue index at a register
/// offset. Kept by the queue so that a kick is one call.
struct VirtqueueNotifier {
    let registers: any VirtioRegisters
    let offset: Int
    let queueIndex: UInt16

    @inline(__always)
    func notify() { registers.write16(offset, queueIndex) }
}
