/// Which kernel mechanism gives this process a PCI device.
public enum DeviceAccessKind: String, Sendable, CaseIterable {
    /// vfio-pci: an IOMMU checks every DMA; IOVAs are mapped by the process.
    case vfio
    /// uio_pci_generic: no IOMMU; the device sees physical addresses.
    case uio

    /// The kernel driver that provides it.
    public var kernelDriver: String {
        switch self {
        case .vfio: return "vfio-pci"
        case .uio: return "uio_pci_generic"
        }
    }

    /// The kind a kernel driver name stands for, nil for any other driver.
    public init?(kernelDriver: String) {
        guard let kind = Self.allCases.first(where: { $0.kernelDriver == kernelDriver }) else { return nil }
        self = kind
    }
}

/// Everything a PCI driver needs from the device, whether VFIO or UIO is
/// underneath: BAR registers, config space, DMA memory the device can
/// address, bus mastering and reset. Set-up calls (none runs per packet).
public protocol DeviceAccess: AnyObject {
    var address: PCIAddress { get }
    var kind: DeviceAccessKind { get }
    var vendorID: UInt16 { get }
    var deviceID: UInt16 { get }
    /// The BARs as the system describes them (memory or I/O, size).
    var bars: [PCIBar] { get }
    /// The IOVA mode `dmaMemory(size:)` uses unless told otherwise.
    var defaultIOVAMode: IOVAMode { get }

    /// The registers of BAR `index` (mapped on first use).
    func bar(_ index: Int) throws(PlatformError) -> DeviceRegisters

    func readConfig8(_ offset: Int) throws(PlatformError) -> UInt8
    func readConfig16(_ offset: Int) throws(PlatformError) -> UInt16
    func readConfig32(_ offset: Int) throws(PlatformError) -> UInt32
    func writeConfig16(_ offset: Int, _ value: UInt16) throws(PlatformError)
    func writeConfig32(_ offset: Int, _ value: UInt32) throws(PlatformError)

    /// Hugepage DMA memory the device can reach at `memory.iova(...)`.
    /// `iovaMode` nil means `defaultIOVAMode`; `.physical` under VFIO maps
    /// each page at its physical address (for devices that bypass the
    /// IOMMU, such as legacy virtio).
    func dmaMemory(size: Int, iovaMode: IOVAMode?) throws(PlatformError) -> DMAMemory
    /// Makes memory made elsewhere (a packet pool's) reachable by the device.
    func mapForDevice(_ memory: DMAMemory) throws(PlatformError)

    /// Sets Bus Master Enable (and memory/I/O decoding) in the command register.
    func enableBusMaster() throws(PlatformError)
    /// A function-level reset, when the device offers one.
    func reset() throws(PlatformError)
    /// The function's INTx as a descriptor (VFIO eventfd or /dev/uioN),
    /// made on first call (DeviceInterrupt).
    func legacyInterrupt() throws(PlatformError) -> DeviceInterrupt
    /// MSI-X vectors 0..<count as descriptors (VFIO eventfds), made on the
    /// first call; none under UIO (uio_pci_generic has INTx only). A
    /// function signals either INTx or MSI-X, whichever was asked first.
    func messageInterrupts(count: Int) throws(PlatformError) -> [DeviceInterrupt]
    /// Unmaps BARs and DMA memory and releases the device. Idempotent.
    func close()
}

extension DeviceAccess {
    public func dmaMemory(size: Int) throws(PlatformError) -> DMAMemory {
        try dmaMemory(size: size, iovaMode: nil)
    }
}
