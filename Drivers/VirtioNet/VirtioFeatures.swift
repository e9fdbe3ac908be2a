/// Feature bits of a virtio-net device (virtio 1.x, sections 5.1.3 and 6).
public struct VirtioFeatures: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    init(bit: Int) { rawValue = 1 << UInt64(bit) }

    // Network device
    public static let csum = VirtioFeatures(bit: 0)
    public static let guestCsum = VirtioFeatures(bit: 1)
    public static let ctrlGuestOffloads = VirtioFeatures(bit: 2)
    public static let mtu = VirtioFeatures(bit: 3)
    public static let mac = VirtioFeatures(bit: 5)
    public static let guestTSO4 = VirtioFeatures(bit: 7)
    public static let guestTSO6 = VirtioFeatures(bit: 8)
    public static let guestECN = VirtioFeatures(bit: 9)
    public static let guestUFO = VirtioFeatures(bit: 10)
    public static let hostTSO4 = VirtioFeatures(bit: 11)
    public static let hostTSO6 = VirtioFeatures(bit: 12)
    public static let hostECN = VirtioFeatures(bit: 13)
    public static let hostUFO = VirtioFeatures(bit: 14)
    public static let mergeableRxBuffers = VirtioFeatures(bit: 15)
    public static let status = VirtioFeatures(bit: 16)
    public static let ctrlVQ = VirtioFeatures(bit: 17)
    public static let ctrlRx = VirtioFeatures(bit: 18)
    public static let ctrlVLAN = VirtioFeatures(bit: 19)
    public static let guestAnnounce = VirtioFeatures(bit: 21)
    public static let multiqueue = VirtioFeatures(bit: 22)
    public static let ctrlMACAddress = VirtioFeatures(bit: 23)
    // Transport
    public static let notifyOnEmpty = VirtioFeatures(bit: 24)
    public static let anyLayout = VirtioFeatures(bit: 27)
    public static let indirectDescriptors = VirtioFeatures(bit: 28)
    public static let eventIndex = VirtioFeatures(bit: 29)
    public static let version1 = VirtioFeatures(bit: 32)
    public static let accessPlatform = VirtioFeatures(bit: 33)
    public static let ringPacked = VirtioFeatures(bit: 34)
    public static let inOrder = VirtioFeatures(bit: 35)
    public static let orderPlatform = VirtioFeatures(bit: 36)
    public static let singleRootIOV = VirtioFeatures(bit: 37)
    public static let notificationData = VirtioFeatures(bit: 38)
    public static let ringReset = VirtioFeatures(bit: 40)
    public static let guestUSO4 = VirtioFeatures(bit: 54)
    public static let guestUSO6 = VirtioFeatures(bit: 55)
    public static let hostUSO = VirtioFeatures(bit: 56)
    public static let hashReport = VirtioFeatures(bit: 57)
    public static let guestHdrLen = VirtioFeatures(bit: 59)
    public static let rss = VirtioFeatures(bit: 60)
    public static let rscExt = VirtioFeatures(bit: 61)
    public static let standby = VirtioFeatures(bit: 62)
    public static let speedDuplex = VirtioFeatures(bit: 63)

    /// Specification names by bit, for notes and messages.
    static let names: [Int: String] = [
        0: "VIRTIO_NET_F_CSUM", 1: "VIRTIO_NET_F_GUEST_CSUM", 2: "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS",
        3: "VIRTIO_NET_F_MTU", 5: "VIRTIO_NET_F_MAC", 6: "VIRTIO_NET_F_GSO", 7: "VIRTIO_NET_F_GUEST_TSO4",
        8: "VIRTIO_NET_F_GUEST_TSO6", 9: "VIRTIO_NET_F_GUEST_ECN", 10: "VIRTIO_NET_F_GUEST_UFO",
        11: "VIRTIO_NET_F_HOST_TSO4", 12: "VIRTIO_NET_F_HOST_TSO6", 13: "VIRTIO_NET_F_HOST_ECN",
        14: "VIRTIO_NET_F_HOST_UFO", 15: "VIRTIO_NET_F_MRG_RXBUF", 16: "VIRTIO_NET_F_STATUS",
        17: "VIRTIO_NET_F_CTRL_VQ", 18: "VIRTIO_NET_F_CTRL_RX", 19: "VIRTIO_NET_F_CTRL_VLAN",
        20: "VIRTIO_NET_F_CTRL_RX_EXTRA", 21: "VIRTIO_NET_F_GUEST_ANNOUNCE", 22: "VIRTIO_NET_F_MQ",
        23: "VIRTIO_NET_F_CTRL_MAC_ADDR", 24: "VIRTIO_F_NOTIFY_ON_EMPTY", 27: "VIRTIO_F_ANY_LAYOUT",
        28: "VIRTIO_F_RING_INDIRECT_DESC", 29: "VIRTIO_F_RING_EVENT_IDX", 30: "VIRTIO_F_BAD_FEATURE",
        32: "VIRTIO_F_VERSION_1", 33: "VIRTIO_F_ACCESS_PLATFORM", 34: "VIRTIO_F_RING_PACKED",
        35: "VIRTIO_F_IN_ORDER", 36: "VIRTIO_F_ORDER_PLATFORM", 37: "VIRTIO_F_SR_IOV",
        38: "VIRTIO_F_NOTIFICATION_DATA", 39: "VIRTIO_F_NOTIF_CONFIG_DATA", 40: "VIRTIO_F_RING_RESET",
        54: "VIRTIO_NET_F_GUEST_USO4", 55: "VIRTIO_NET_F_GUEST_USO6", 56: "VIRTIO_NET_F_HOST_USO",
        57: "VIRTIO_NET_F_HASH_REPORT", 59: "VIRTIO_NET_F_GUEST_HDRLEN", 60: "VIRTIO_NET_F_RSS",
        61: "VIRTIO_NET_F_RSC_EXT", 62: "VIRTIO_NET_F_STANDBY", 63: "VIRTIO_NET_F_SPEED_DUPLEX",
    ]

    /// The bits set, lowest first.
    var bits: [Int] { (0..<64).filter { rawValue & (1 << UInt64($0)) != 0 } }

    static func name(ofBit bit: Int) -> String { names[bit] ?? "feature bit \(bit)" }

    public var description: String { bits.map(Self.name(ofBit:)).joined(separator: ", ") }
}

/// The device status register (virtio 1.x, 2.1).
enum VirtioDeviceStatus {
    static let acknowledge: UInt8 = 1
    static let driver: UInt8 = 2
    static let driverOK: UInt8 = 4
    static let featuresOK: UInt8 = 8
    static let deviceNeedsReset: UInt8 = 64
    static let failed: UInt8 = 128
}

/// Offsets in the virtio-net device configuration (virtio 1.x, 5.1.4).
enum VirtioNetConfig {
    static let mac = 0
    static let status = 6
    static let maxVirtqueuePairs = 8
    static let mtu = 10
    // With VIRTIO_NET_F_RSS (virtio 1.2, 5.1.4): the limits of the RSS configuration.
    static let rssMaxKeySize = 17
    static let rssMaxIndirectionTableLength = 18
    static let supportedHashTypes = 20
    /// Bytes the driver reads: up to and including `mtu`.
    static let sizeUsed = 12

    static let statusLinkUp: UInt16 = 1
}
