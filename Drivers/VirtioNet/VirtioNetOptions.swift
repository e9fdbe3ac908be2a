/// Driver choices that `PortConfiguration` does not cover.
public struct VirtioNetOptions: Sendable {
    public enum Transport: String, Sendable, CaseIterable {
        /// Modern when the device has virtio capabilities (always for
        /// 1af4:1041), else legacy.
        case automatic
        case modern
        case legacy
    }

    public var transport: Transport
    /// Take VIRTIO_NET_F_MRG_RXBUF when offered: frames may then span
    /// several receive buffers (chained segments).
    public var mergeableReceiveBuffers: Bool
    /// Take VIRTIO_F_RING_EVENT_IDX when offered: doorbells follow the
    /// device's avail_event instead of VRING_USED_F_NO_NOTIFY. On by
    /// default. DPDK does not take it (VIRTIO_PMD_DEFAULT_GUEST_FEATURES);
    /// in the lab (2026-12-06, txonly 64 B, one boot, 3 alternations) it
    /// rang 1.3-1.6 doorbells per 100 frames against 2.7-3.0 without, the
    /// ring full in 95% of bursts either way (Docs/VIRTIO.md, the transmit gap).
    public var eventIndex: Bool
    /// Take the control queue (promiscuous, all-multicast, MAC, queue pairs).
    public var controlQueue: Bool
    /// Stamped into `PacketBuffer.port` of received packets.
    public var portIdentifier: UInt16
    /// How long a control command may take before it is an error.
    public var controlTimeout: Duration

    public init(
        transport: Transport = .automatic, mergeableReceiveBuffers: Bool = true, eventIndex: Bool = true,
        controlQueue: Bool = true, portIdentifier: UInt16 = 0, controlTimeout: Duration = .seconds(2)
    ) {
        self.transport = transport
        self.mergeableReceiveBuffers = mergeableReceiveBuffers
        self.eventIndex = eventIndex
        self.controlQueue = controlQueue
        self.portIdentifier = portIdentifier
        self.controlTimeout = controlTimeout
    }
}
