import CPlatform
import NetDevice
import Packets
import Platform
import Synchronization
import Wire

/// A receive queue: its ring, the pool refills come from, and a staging
/// array for bulk allocation.
struct VirtioReceiveQueue {
    var ring: SplitVirtqueue
    let pool: Unmanaged<PacketPool>
    let headroom: Int
    let staging: UnsafeMutableBufferPointer<PacketBuffer>
}

/// A transmit queue: its ring, header slots for packets without headroom,
/// and a staging array for bulk frees.
struct VirtioTransmitQueue {
    var ring: SplitVirtqueue
    let headers: UnsafeMutableRawPointer
    let headersIOVA: UInt64
    let staging: UnsafeMutableBufferPointer<PacketBuffer>
}

/// The virtio-net poll-mode driver (PCI 1af4:1041, and 1af4:1000 through
/// its modern capabilities or its legacy I/O-port registers).
///
/// `init` probes (reads features and configuration, leaves the device
/// reset), `configure` allocates rings, `start` runs the whole
/// initialisation (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues,
/// DRIVER_OK), `stop` resets the device and frees the buffers it held. Any
/// failure sets FAILED and leaves the device reset.
///
/// This file holds the state and the probe; configure, start and stop are
/// in VirtioNetDevice+Lifecycle.swift, ring memory and queue set-up in
/// +Queues, control-queue commands in +Control, link and counters in
/// +Statistics, the datapath in VirtioNetReceive/VirtioNetTransmit.swift.
public final class VirtioNetDevice: NetDevice {
    public static let vendorID: UInt16 = 0x1af4
    public static let modernDeviceID: UInt16 = 0x1041
    public static let transitionalDeviceID: UInt16 = 0x1000

    public internal(set) var info: DeviceInfo
    public internal(set) var macAddress: MACAddress

    let function: any VirtioPCIFunction
    let transport: any VirtioTransport
    let options: VirtioNetOptions
    /// Features offered at probe.
    public let offeredFeatures: VirtioFeatures
    /// Features in use since the last start (empty before).
    public internal(set) var negotiatedFeatures: VirtioFeatures = []
    let maximumQueuePairs: Int

    // Bring-up state: internal, not private, so that the extensions in
    // VirtioNetDevice+*.swift can set it.
    var configuration: PortConfiguration?
    var ringMemory: DMAMemory?
    var queuePairs = 0
    var receiveRingSize = 0
    var transmitRingSize = 0
    var headerSize = VirtioNetHeader.sizeWithBufferCount
    var mergeable = false
    var receiveChecksum = false
    /// VIRTIO_NET_F_GUEST_TSO4: frames up to 64 KiB arrive over mergeable buffers.
    var receiveCoalescing = false
    var transmitChecksum = false
    /// Transmit requests honoured: L4 checksums with VIRTIO_NET_F_CSUM, TCP
    /// segmentation with VIRTIO_NET_F_HOST_TSO4, the IPv4 header checksum
    /// in software, as configured.
    public internal(set) var transmitOffloadsInUse: OffloadFlags = []
    var isStarted = false
    var promiscuous = false
    /// The RSS key and table to program at start (VIRTIO_NET_F_RSS).
    var receiveSideScaling: RSSSettings?
    var allMulticast = false

    var receiveQueues: UnsafeMutablePointer<VirtioReceiveQueue>?
    var transmitQueues: UnsafeMutablePointer<VirtioTransmitQueue>?
    var receiveQueueCount = 0
    var transmitQueueCount = 0
    var control: VirtioControlQueue?
    var retiredStatistics = PortStatistics()
    /// The receive queues' interrupts, chosen on first use (+Interrupts).
    let interruptRoute = Mutex<VirtioReceiveInterrupts?>(nil)
    /// Why the device was given up (VirtioNetDevice+Health.swift).
    var removalReason: String?
    /// Device resets the driver recovered from, and configuration changes seen.
    var recoveries: UInt64 = 0
    var configChanges: UInt64 = 0
    var lastConfigGeneration: UInt8?
    var zeroPoint = PortStatistics()

    /// Batch sizes: refill when this many receive descriptors are free,
    /// reclaim when this many transmissions completed.
    static let refillThreshold = 32
    static let reclaimThreshold = 32
    static let stagingSize = 64

    // MARK: Probe

    /// Probes `function`: picks the transport, reads features, MAC, link,
    /// queue pairs and MTU. Leaves the device reset. Throws for a device
    /// that is not virtio-net, whose capabilities point outside its BARs,
    /// or whose first queues do not exist.
    public init(function: some VirtioPCIFunction, options: VirtioNetOptions = VirtioNetOptions()) throws(DeviceError) {
        guard function.vendorID == Self.vendorID,
            function.deviceID == Self.modernDeviceID || function.deviceID == Self.transitionalDeviceID
        else {
            throw DeviceError(.unsupported,
                "\(function.name) is \(hex(function.vendorID)):\(hex(function.deviceID)), not a virtio-net device (1af4:1041 or 1af4:1000)")
        }
        self.function = function
        self.options = options
        transport = try Self.openTransport(function, options: options)
        let transport = self.transport
        do throws(DeviceError) {
            try transport.reset()
            transport.addStatus(VirtioDeviceStatus.acknowledge)
            transport.addStatus(VirtioDeviceStatus.driver)
            let offered = transport.deviceFeatures()
            offeredFeatures = offered
            maximumQueuePairs = offered.contains(.multiqueue) && offered.contains(.ctrlVQ) && options.controlQueue
                ? max(1, Int(transport.readDeviceConfig16(VirtioNetConfig.maxVirtqueuePairs))) : 1
            if offered.contains(.mac) {
                let bytes = transport.readDeviceConfigBytes(VirtioNetConfig.mac, count: 6)
                macAddress = MACAddress(bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5])
            } else {
                // No address from the device: a locally administered one.
                let random = UInt64.random(in: 0...0xffff_ffff)
                macAddress = MACAddress(0x02, 0x00, UInt8(truncatingIfNeeded: random >> 24), UInt8(truncatingIfNeeded: random >> 16),
                                        UInt8(truncatingIfNeeded: random >> 8), UInt8(truncatingIfNeeded: random))
            }
            let mtu = offered.contains(.mtu) ? Int(transport.readDeviceConfig16(VirtioNetConfig.mtu)) : 1500
            let receiveSize = transport.maximumQueueSize(0)
            let transmitSize = transport.maximumQueueSize(1)
            guard receiveSize > 0, transmitSize > 0 else {
                throw DeviceError(.deviceFailed,
                    "\(function.name): virtqueue \(receiveSize == 0 ? 0 : 1) has size 0, so the device has no "
                    + "\(receiveSize == 0 ? "receive" : "transmit") queue; check the QEMU device (rx_queue_size / tx_queue_size)")
            }
            let largest = min(receiveSize, transmitSize)
            info = DeviceInfo(
                driverName: "virtio-net", deviceName: function.name,
                maximumReceiveQueues: maximumQueuePairs, maximumTransmitQueues: maximumQueuePairs,
                ringSizes: transport.isLegacy ? largest...largest : min(largest, 8)...largest,
                ringSizeAlignment: 1, maximumFrameLength: mtu + 14, mtu: mtu,
                receiveOffloads: VirtioFeatureNegotiation.receiveOffloads(offered: offered, options: options),
                // The IPv4 header checksum is computed by the driver (virtio has none).
                transmitOffloads: Self.transmitOffloads(offered),
                notes: [])
            let negotiation = try VirtioFeatureNegotiation(offered: offered, request: .init(
                isLegacy: transport.isLegacy, behindIOMMU: function.isBehindIOMMU, queuePairs: 1,
                transmitChecksum: false, receiveChecksum: false, receiveCoalescing: false, receiveSideScaling: false,
                options: options, transmitSegmentation: false))
            info.notes = ["transport: \(transport.name)"] + negotiation.notes
            info.offersReceiveSideScaling = maximumQueuePairs > 1 && offered.contains(.rss)
            try transport.reset()
        } catch {
            Self.fail(transport)
            throw error
        }
    }

    deinit {
        stop()
    }

    /// The transport `options` ask for, checked against what the function has.
    private static func openTransport(_ function: some VirtioPCIFunction, options: VirtioNetOptions) throws(DeviceError) -> any VirtioTransport {
        let capabilities = try VirtioPCICapabilities.read(from: function)
        let useModern: Bool
        switch options.transport {
        case .modern: useModern = true
        case .legacy:
            guard function.deviceID == transitionalDeviceID else {
                throw DeviceError(.unsupported, "\(function.name) is a modern-only virtio device (1af4:1041): it has no legacy interface")
            }
            useModern = false
        case .automatic: useModern = function.deviceID == modernDeviceID || capabilities.hasModernInterface
        }
        guard useModern else { return try LegacyVirtioTransport(function: function) }
        do {
            return try ModernVirtioTransport(function: function, capabilities: capabilities)
        } catch {
            // Leave the device reset when the common configuration is usable.
            if let common = capabilities.common, let registers = try? function.registers(bar: common.bar) {
                registers.write8(Int(common.offset) + 0x14, 0)
            }
            throw error
        }
    }

    /// Marks the device FAILED and resets it: the state every error leaves.
    static func fail(_ transport: any VirtioTransport) {
        transport.addStatus(VirtioDeviceStatus.failed)
        try? transport.reset()
    }

    /// The IOVA mode every pool of this port must use, when the device
    /// dictates one: a legacy device behind an IOMMU (VFIO) bypasses it, so
    /// its DMA addresses are physical. nil: the device access's default.
    public var requiredIOVAMode: IOVAMode? {
        transport.isLegacy && function.isBehindIOMMU ? .physical : nil
    }
}

@inline(__always)
func roundUp(_ value: Int, _ unit: Int) -> Int { (value + unit - 1) / unit * unit }

func hex(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
