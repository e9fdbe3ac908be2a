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
    /// The NUMA node of a PCI port's device, when the system says.
    public let numaNode: Int?

    public init(device: any NetDevice, iovaMode: IOVAMode, label: String, isPCI: Bool, numaNode: Int? = nil) {
        self.device = device
        self.iovaMode = iovaMode
        self.label = label
        self.isPCI = isPCI
        self.numaNode = numaNode
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

    /// The NUMA node the ports' devices share, nil when none is known or
    /// they sit on different nodes.
    public var poolNUMANode: Int? {
        let nodes = Set(compactMap(\.numaNode))
        return nodes.count == 1 ? nodes.first : nil
    }

    /// One pool every port of the list can receive into and transmit from,
    /// on the ports' NUMA node. `policy` nil: what the ports need.
    public func makePool(
        name: String, capacity: Int, cacheSize: Int? = nil, policy: DMAMemoryPolicy? = nil
    ) throws(PacketPoolError) -> PacketPool {
        try PacketPool(name: name, capacity: capacity, cacheSize: cacheSize, policy: policy ?? poolPolicy,
                       iovaMode: poolIOVAMode, numaNode: poolNUMANode)
    }
}
