import NetDevice
import Packets
import Platform

/// An opened port and what a tool needs to know about it to feed it.
public struct OpenedPort {
    public let device: any NetDevice
    /// How its DMA addresses work (pools for it must use this mode).
    public let iovaMode: IOVAMode
    /// "e1000 0000:00:10.0 (vfio)".
    public let label: String
    /// PCI ports need hugepage memory; host ports take anonymous memory too.
    public let isPCI: Bool

    public init(device: any NetDevice, iovaMode: IOVAMode, label: String, isPCI: Bool) {
        self.device = device
        self.iovaMode = iovaMode
        self.label = label
        self.isPCI = isPCI
    }
}

extension Array where Element == OpenedPort {
    /// IOVA = physical when any port needs it (UIO, legacy virtio under
    /// VFIO); VFIO maps either, so one pool can serve every port.
    public var poolIOVAMode: IOVAMode { contains { $0.iovaMode == .physical } ? .physical : .virtual }

    /// PCI ports DMA from hugepages only; host ports accept anonymous memory.
    public var poolPolicy: DMAMemoryPolicy {
        contains(where: \.isPCI) ? .hugepagesRequired : .hugepagesOrAnonymousFallback
    }

    /// One pool every port of the list can receive into and transmit from.
    public func makePool(name: String, capacity: Int, cacheSize: Int? = nil) throws(PacketPoolError) -> PacketPool {
        try PacketPool(name: name, capacity: capacity, cacheSize: cacheSize, policy: poolPolicy, iovaMode: poolIOVAMode)
    }
}
