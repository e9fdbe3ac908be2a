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
    /// device's avail_event instead of VRING_USED_F_NO_NOTIFY. Off by
    /// default, as DPDK leaves it (VIRTIO_PMD_DEFAULT_GUEST_FEATURES has no
    /// EVENT_IDX): QEMU's "notifications off" while its transmit bottom half
    /// runs only moves avail_event to the current avail.idx under EVENT_IDX
    /// (virtio_queue_split_set_notification), so a polling driver rings
    /// about once per burst, each doorbell an MMIO exit that takes the BQL
    /// the draining thread holds; NO_NOTIFY silences it until the device
    /// wants one (Docs/VIRTIO.md, the transmit gap).
    public var eventIndex: Bool
    /// Take the control queue (promiscuous, all-multicast, MAC, queue pairs).
    public var controlQueue: Bool
    /// Stamped into `PacketBuffer.port` of received packets.
    public var portIdentifier: UInt16
    /// How long a control command may take before it is an error.
    public var controlTimeout: Duration

    public init(
        transport: Transport = .automatic, mergeableReceiveBuffers: Bool = true, eventIndex: Bool = false,
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
