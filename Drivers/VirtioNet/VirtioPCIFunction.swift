import NetDevice
import Platform

/// What the virtio driver needs of a PCI function: its identity, BARs,
/// configuration space and DMA memory the device can reach. The VFIO/UIO
/// device access of Platform provides it in the guest; the software device
/// model provides it in the host tests.
public protocol VirtioPCIFunction: AnyObject {
    /// The PCI address (or another name) for messages and `DeviceInfo`.
    var name: String { get }
    var vendorID: UInt16 { get }
    var deviceID: UInt16 { get }
    /// True when an IOMMU translates the device's DMA (VFIO): a modern
    /// device must then negotiate VIRTIO_F_ACCESS_PLATFORM, and a legacy one
    /// needs IOVA = physical address.
    var isBehindIOMMU: Bool { get }

    /// Size of BAR `index` in bytes and whether it is I/O-port space; nil
    /// when the BAR is absent.
    func bar(_ index: Int) -> (size: Int, isIOSpace: Bool)?
    /// The registers of BAR `index`.
    func registers(bar index: Int) throws(DeviceError) -> any VirtioRegisters

    func readConfig8(_ offset: Int) throws(DeviceError) -> UInt8
    func readConfig16(_ offset: Int) throws(DeviceError) -> UInt16
    func readConfig32(_ offset: Int) throws(DeviceError) -> UInt32

    /// DMA memory the device can reach at `memory.iova(...)`; `iovaMode`
    /// nil means the access's own default.
    func dmaMemory(size: Int, iovaMode: IOVAMode?) throws(DeviceError) -> DMAMemory
    /// Makes memory made elsewhere (a packet pool's) reachable by the device.
    func mapForDevice(_ memory: DMAMemory) throws(DeviceError)
    /// Bus mastering on, so that the device may DMA.
    func enableBusMaster() throws(DeviceError)
    /// Exclusive upper bound of the IOVAs a legacy queue address register
    /// (a 32-bit page frame number) can carry: 16 TiB on real hardware.
    var legacyQueueAddressLimit: UInt64 { get }
    /// Whether the system is taking the device away (hot unplug).
    func removalRequested() -> Bool
    /// Lets go of the device after a removal (the kernel waits for it).
    func releaseDevice()
    /// The function's INTx as a descriptor (VFIO eventfd or /dev/uioN), or
    /// nil when it has none (an interrupt-driven idle core then sleeps).
    func legacyInterrupt() -> DeviceInterrupt?
    /// MSI-X vectors 0..<count as descriptors (VFIO); throws when the
    /// function offers none this way (UIO, a model, INTx already in use).
    func messageInterrupts(count: Int) throws(DeviceError) -> [DeviceInterrupt]
}

extension VirtioPCIFunction {
    public var legacyQueueAddressLimit: UInt64 { 1 << 44 }
    /// A model is never unplugged and holds nothing.
    public func removalRequested() -> Bool { false }
    public func releaseDevice() {}
    public func legacyInterrupt() -> DeviceInterrupt? { nil }
    public func messageInterrupts(count: Int) throws(DeviceError) -> [DeviceInterrupt] {
        throw DeviceError(.unsupported, "\(name) offers no MSI-X vectors")
    }
}
