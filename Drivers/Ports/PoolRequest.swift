import Platform

/// The packet pool a bring-up makes for its ports.
public struct PoolRequest: Sendable {
    public var name: String
    public var capacity: Int
    /// Per-core cache; nil: PacketPool's default.
    public var cacheSize: Int?
    /// Where the buffers live; nil: what the ports need (hugepages for PCI
    /// ports, anonymous memory allowed for host ports).
    public var policy: DMAMemoryPolicy?

    public init(name: String, capacity: Int, cacheSize: Int? = nil, policy: DMAMemoryPolicy? = nil) {
        self.name = name
        self.capacity = capacity
        self.cacheSize = cacheSize
        self.policy = policy
    }
}
