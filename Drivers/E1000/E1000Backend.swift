import NetDevice
import Platform

/// Volatile 32-bit access to the device's registers at byte offsets (BAR 0).
/// The lab's `DeviceRegisters` conforms; tests use a software model.
public protocol E1000RegisterAccess {
    func read32(_ offset: Int) -> UInt32
    func write32(_ offset: Int, _ value: UInt32)
}

extension DeviceRegisters: E1000RegisterAccess {}

/// What the driver needs from the PCI function, whatever gives it: the
/// register BAR, DMA memory the device can reach, and mapping of packet
/// pools. Set-up calls only; nothing here runs per packet.
public protocol E1000Backend: AnyObject {
    /// "0000:00:10.0" (or a model's name).
    var name: String { get }
    var vendorID: UInt16 { get }
    var deviceID: UInt16 { get }
    /// PCI subsystem vendor (0x1af4 on QEMU's emulation).
    var subsystemVendorID: UInt16 { get }
    /// BAR 0.
    func registers() throws(DeviceError) -> any E1000RegisterAccess
    /// Memory for descriptor rings, reachable by the device at its IOVAs.
    func dmaMemory(size: Int) throws(DeviceError) -> DMAMemory
    /// Makes memory made elsewhere (a pool's) reachable by the device.
    func mapForDevice(_ memory: DMAMemory) throws(DeviceError)
    func enableBusMaster() throws(DeviceError)
    /// The function's INTx as a descriptor, or nil when it has none (a model).
    func legacyInterrupt() -> DeviceInterrupt?
    /// Releases the device (unmaps BARs and DMA memory).
    func close()
    /// Whether the system is taking the device away (PCIDeviceAccess.removalRequested).
    func removalRequested() -> Bool
}

extension E1000Backend {
    /// A model is never unplugged.
    public func removalRequested() -> Bool { false }
}

/// The backend for a real (or QEMU-emulated) PCI function bound to vfio-pci
/// or uio_pci_generic. The device-access layer refuses memory that is not
/// hugepage-backed and IOVA modes the binding cannot serve.
public final class E1000PCIBackend: E1000Backend {
    public let access: DeviceAccess
    private let bar: DeviceRegisters
    public let subsystemVendorID: UInt16

    public init(access: DeviceAccess) throws(DeviceError) {
        self.access = access
        do {
            bar = try access.bar(0)
            subsystemVendorID = try access.readConfig16(E1000PCI.subsystemVendorOffset)
        } catch {
            throw DeviceError(.accessFailed, "e1000 \(access.address): \(error)")
        }
        guard bar.size >= E1000Register.barSize || bar.baseAddress == nil else {
            throw DeviceError(.accessFailed, "e1000 \(access.address): BAR 0 is \(bar.size) bytes, the 82540EM has \(E1000Register.barSize)")
        }
    }

    public var name: String { access.address.description }

    public func legacyInterrupt() -> DeviceInterrupt? { try? access.legacyInterrupt() }
    public var vendorID: UInt16 { access.vendorID }
    public var deviceID: UInt16 { access.deviceID }

    public func registers() throws(DeviceError) -> any E1000RegisterAccess { bar }

    public func dmaMemory(size: Int) throws(DeviceError) -> DMAMemory {
        do {
            return try access.dmaMemory(size: size)
        } catch {
            throw DeviceError(.accessFailed, "e1000 \(name): descriptor memory: \(error)")
        }
    }

    public func mapForDevice(_ memory: DMAMemory) throws(DeviceError) {
        do {
            try access.mapForDevice(memory)
        } catch {
            throw DeviceError(.accessFailed, "e1000 \(name): packet memory: \(error)")
        }
    }

    public func enableBusMaster() throws(DeviceError) {
        do {
            try access.enableBusMaster()
        } catch {
            throw DeviceError(.accessFailed, "e1000 \(name): enabling bus mastering: \(error)")
        }
    }

    public func close() { access.close() }

    public func removalRequested() -> Bool { (access as? PCIDeviceAccess)?.removalRequested() ?? false }
}
