import CPlatform
import NetDevice
import Packets
import Platform
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
public final class VirtioNetDevice: NetDevice {
    public static let vendorID: UInt16 = 0x1af4
    public static let modernDeviceID: UInt16 = 0x1041
    public static let transitionalDeviceID: UInt16 = 0x1000

    public private(set) var info: DeviceInfo
    public private(set) var macAddress: MACAddress

    let function: any VirtioPCIFunction
    let transport: any VirtioTransport
    let options: VirtioNetOptions
    /// Features offered at probe.
    public let offeredFeatures: VirtioFeatures
    /// Features in use since the last start (empty before).
    public private(set) var negotiatedFeatures: VirtioFeatures = []
    let maximumQueuePairs: Int

    private var configuration: PortConfiguration?
    private var ringMemory: DMAMemory?
    private var queuePairs = 0
    private var receiveRingSize = 0
    private var transmitRingSize = 0
    var headerSize = VirtioNetHeader.sizeWithBufferCount
    var mergeable = false
    var receiveChecksum = false
    var transmitChecksum = false
    /// Transmit requests honoured: L4 checksums with VIRTIO_NET_F_CSUM, the
    /// IPv4 header checksum in software, as configured.
    var transmitOffloadsInUse: OffloadFlags = []
    private(set) var isStarted = false
    private var promiscuous = false
    private var allMulticast = false

    var receiveQueues: UnsafeMutablePointer<VirtioReceiveQueue>?
    var transmitQueues: UnsafeMutablePointer<VirtioTransmitQueue>?
    private var control: VirtioControlQueue?
    private var retiredStatistics = PortStatistics()
    private var zeroPoint = PortStatistics()

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
                receiveOffloads: offered.contains(.guestCsum) ? [.rxL4ChecksumGood, .rxL4ChecksumNone] : [],
                // The IPv4 header checksum is computed by the driver (virtio has none).
                transmitOffloads: offered.contains(.csum) ? [.txIPChecksum, .txTCPChecksum, .txUDPChecksum] : [.txIPChecksum],
                notes: [])
            let negotiation = try VirtioFeatureNegotiation(offered: offered, request: .init(
                isLegacy: transport.isLegacy, behindIOMMU: function.isBehindIOMMU, queuePairs: 1,
                transmitChecksum: false, receiveChecksum: false, options: options))
            info.notes = ["transport: \(transport.name)"] + negotiation.notes
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
    private static func fail(_ transport: any VirtioTransport) {
        transport.addStatus(VirtioDeviceStatus.failed)
        try? transport.reset()
    }

    /// The IOVA mode every pool of this port must use, when the device
    /// dictates one: a legacy device behind an IOMMU (VFIO) bypasses it, so
    /// its DMA addresses are physical. nil: the device access's default.
    public var requiredIOVAMode: IOVAMode? {
        transport.isLegacy && function.isBehindIOMMU ? .physical : nil
    }

    // MARK: Configure

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        guard !isStarted else { throw DeviceError(.wrongState, "configure a virtio port while it is stopped") }
        try configuration.validate(against: info)
        for (what, size) in [("receive", configuration.receiveRingSize), ("transmit", configuration.transmitRingSize)]
        where size & (size - 1) != 0 {
            throw DeviceError(.invalidConfiguration, "\(what) ring size \(size): split virtqueues take powers of two")
        }
        guard configuration.receiveQueues == configuration.transmitQueues else {
            throw DeviceError(.invalidConfiguration,
                "\(configuration.receiveQueues) receive and \(configuration.transmitQueues) transmit queues: virtio-net uses queue pairs, give equal counts")
        }
        let legacyBehindIOMMU = transport.isLegacy && function.isBehindIOMMU
        var mapped = Set<ObjectIdentifier>()
        for pool in configuration.transmitPools {
            if legacyBehindIOMMU && pool.memory.iovaMode != .physical {
                throw DeviceError(.invalidConfiguration,
                    "transmit pool '\(pool.name)' uses IOVA mode \(pool.memory.iovaMode): a legacy virtio device bypasses the IOMMU, so its pools need iovaMode .physical")
            }
            if mapped.insert(ObjectIdentifier(pool.memory)).inserted { try function.mapForDevice(pool.memory) }
        }
        for pool in configuration.receivePools {
            guard pool.headroom >= VirtioNetHeader.sizeWithBufferCount else {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' has \(pool.headroom) bytes of headroom; virtio-net writes its \(VirtioNetHeader.sizeWithBufferCount)-byte header there")
            }
            guard pool.dataRoomSize >= info.maximumFrameLength || offeredFeatures.contains(.mergeableRxBuffers) && options.mergeableReceiveBuffers else {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' buffers hold \(pool.dataRoomSize) bytes, frames may be \(info.maximumFrameLength) and MRG_RXBUF is not in use")
            }
            if legacyBehindIOMMU && pool.memory.iovaMode != .physical {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' uses IOVA mode \(pool.memory.iovaMode): a legacy virtio device bypasses the IOMMU, so its pools need iovaMode .physical")
            }
            if mapped.insert(ObjectIdentifier(pool.memory)).inserted {
                try function.mapForDevice(pool.memory)
            }
        }
        queuePairs = configuration.receiveQueues
        receiveRingSize = configuration.receiveRingSize
        transmitRingSize = configuration.transmitRingSize
        promiscuous = configuration.promiscuous

        // One DMA region for every ring, transmit header slots and the
        // control buffer.
        let plan = memoryPlan()
        let memory = try function.dmaMemory(size: plan.requestSize, iovaMode: legacyBehindIOMMU ? .physical : nil)
        guard Self.place(plan.lengths, in: memory) != nil else {
            throw DeviceError(.invalidConfiguration, "virtio rings of \(plan.lengths.reduce(0, +)) bytes do not fit \(memory.size) bytes of DMA memory in whole pages")
        }
        ringMemory = memory
        self.configuration = configuration
    }

    /// Area lengths in order: rx rings, tx rings, tx header slots, control
    /// ring, control buffer.
    private func memoryPlan() -> (lengths: [Int], requestSize: Int) {
        var lengths = [Int]()
        let receiveLayout = SplitVirtqueueLayout(size: receiveRingSize)
        let transmitLayout = SplitVirtqueueLayout(size: transmitRingSize)
        for _ in 0..<queuePairs { lengths.append(receiveLayout.totalSize) }
        for _ in 0..<queuePairs { lengths.append(transmitLayout.totalSize) }
        for _ in 0..<queuePairs { lengths.append(roundUp(transmitRingSize * 16, 4096)) }
        lengths.append(SplitVirtqueueLayout(size: controlRingSize).totalSize)
        lengths.append(VirtioControlQueue.bufferSize)
        let total = lengths.reduce(0, +)
        // Room to push areas past page boundaries (hugepages: 2 MiB).
        return (lengths, total + max(total, 2 << 20))
    }

    /// Offsets for `lengths`, each 4 KiB aligned and, when IOVAs are
    /// physical, inside one page (physically contiguous).
    private static func place(_ lengths: [Int], in memory: DMAMemory) -> [Int]? {
        var offsets = [Int]()
        var cursor = 0
        for length in lengths {
            var offset = roundUp(cursor, 4096)
            if memory.iovaMode == .physical && !memory.isPhysicallyContiguous(offset: offset, length: length) {
                guard length <= memory.pageSize else { return nil }
                offset = roundUp(offset + 1, memory.pageSize)
            }
            guard offset + length <= memory.size else { return nil }
            offsets.append(offset)
            cursor = offset + length
        }
        return offsets
    }

    private var controlRingSize: Int {
        // Legacy queues have the device's size; modern ones take 64 or less.
        let maximum = transport.maximumQueueSize(controlQueueIndex)
        return transport.isLegacy ? maximum : min(64, maximum)
    }

    /// The control queue follows the data queues of all possible pairs.
    private var controlQueueIndex: Int { 2 * maximumQueuePairs }

    // MARK: Start and stop

    public func start() throws(DeviceError) {
        guard let configuration, let memory = ringMemory else {
            throw DeviceError(.wrongState, "start a virtio port after configure")
        }
        guard !isStarted else { return }
        do throws(DeviceError) {
            try function.enableBusMaster()
            try transport.reset()
            transport.addStatus(VirtioDeviceStatus.acknowledge)
            transport.addStatus(VirtioDeviceStatus.driver)
            let offered = transport.deviceFeatures()
            let negotiation = try VirtioFeatureNegotiation(offered: offered, request: .init(
                isLegacy: transport.isLegacy, behindIOMMU: function.isBehindIOMMU, queuePairs: queuePairs,
                transmitChecksum: !configuration.transmitOffloads.intersection(.txL4Checksum).isEmpty,
                receiveChecksum: !configuration.receiveOffloads.intersection([.rxL4ChecksumGood, .rxL4ChecksumNone]).isEmpty,
                options: options))
            transport.setDriverFeatures(negotiation.accepted)
            if !transport.isLegacy {
                transport.addStatus(VirtioDeviceStatus.featuresOK)
                guard transport.status & VirtioDeviceStatus.featuresOK != 0 else {
                    throw DeviceError(.unsupported,
                        "\(function.name) refused the features \(negotiation.accepted) (FEATURES_OK did not stick); offered: \(offered)")
                }
            }
            negotiatedFeatures = negotiation.accepted
            info.notes = ["transport: \(transport.name)"] + negotiation.notes
            headerSize = negotiation.headerSize
            mergeable = negotiation.accepted.contains(.mergeableRxBuffers)
            receiveChecksum = negotiation.accepted.contains(.guestCsum)
            transmitChecksum = negotiation.accepted.contains(.csum)
            transmitOffloadsInUse = configuration.transmitOffloads.intersection(
                transmitChecksum ? [.txIPChecksum, .txTCPChecksum, .txUDPChecksum] : [.txIPChecksum])
            if negotiation.accepted.contains(.mtu) {
                info.mtu = Int(transport.readDeviceConfig16(VirtioNetConfig.mtu))
                info.maximumFrameLength = info.mtu + 14
            }

            try setUpQueues(configuration, memory: memory)
            transport.addStatus(VirtioDeviceStatus.driverOK)
            guard transport.status & VirtioDeviceStatus.deviceNeedsReset == 0 else {
                throw DeviceError(.deviceFailed, "\(function.name) set DEVICE_NEEDS_RESET after DRIVER_OK")
            }
            isStarted = true
            if queuePairs > 1 {
                try sendControl(.multiqueue, VirtioControlQueue.multiqueuePairsSet,
                                payload: [UInt8(truncatingIfNeeded: queuePairs), UInt8(truncatingIfNeeded: queuePairs >> 8)])
            }
            if negotiatedFeatures.contains(.ctrlRx) {
                try sendControl(.rx, VirtioControlQueue.rxPromiscuous, payload: [promiscuous ? 1 : 0])
                if allMulticast { try sendControl(.rx, VirtioControlQueue.rxAllMulticast, payload: [1]) }
            } else if promiscuous {
                info.notes.append("promiscuous mode requested but VIRTIO_NET_F_CTRL_RX is not available (QEMU's default is promiscuous)")
            }
        } catch {
            isStarted = false
            Self.fail(transport)
            releaseQueues()
            throw error
        }
    }

    public func stop() {
        guard receiveQueues != nil || transmitQueues != nil else { return }
        // The reset stops the device touching the rings; then the buffers
        // it held are ours to free.
        try? transport.reset()
        isStarted = false
        releaseQueues()
    }

    private func setUpQueues(_ configuration: PortConfiguration, memory: DMAMemory) throws(DeviceError) {
        let plan = memoryPlan()
        let offsets = Self.place(plan.lengths, in: memory)!
        let receiveLayout = SplitVirtqueueLayout(size: receiveRingSize)
        let transmitLayout = SplitVirtqueueLayout(size: transmitRingSize)
        let eventIndex = negotiatedFeatures.contains(.eventIndex)

        func ring(_ index: Int, _ layout: SplitVirtqueueLayout, offset: Int) throws(DeviceError) -> SplitVirtqueue {
            let maximum = transport.maximumQueueSize(index)
            guard maximum > 0 else {
                throw DeviceError(.deviceFailed, "\(function.name): virtqueue \(index) has size 0 (it does not exist); \(queuePairs) queue pairs need \(2 * queuePairs) queues")
            }
            try transport.activateQueue(index, size: layout.size, layout: layout, baseIOVA: memory.iova(atOffset: offset))
            let slots = UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>?>.allocate(capacity: layout.size)
            return SplitVirtqueue(index: index, layout: layout, area: memory.base + offset, slots: slots,
                                  notifier: try transport.notifier(forQueue: index), eventIndex: eventIndex)
        }

        let receive = UnsafeMutablePointer<VirtioReceiveQueue>.allocate(capacity: queuePairs)
        let transmit = UnsafeMutablePointer<VirtioTransmitQueue>.allocate(capacity: queuePairs)
        var madeReceive = 0
        var madeTransmit = 0
        defer {
            // Partial set-up: keep what was made so that releaseQueues frees it.
            if madeReceive < queuePairs || madeTransmit < queuePairs {
                receiveQueueCount = madeReceive
                transmitQueueCount = madeTransmit
            }
        }
        receiveQueues = receive
        transmitQueues = transmit
        receiveQueueCount = 0
        transmitQueueCount = 0
        for pair in 0..<queuePairs {
            let pool = configuration.receivePools[pair % configuration.receivePools.count]
            let rx = try ring(2 * pair, receiveLayout, offset: offsets[pair])
            (receive + pair).initialize(to: VirtioReceiveQueue(
                ring: rx, pool: Unmanaged.passUnretained(pool), headroom: pool.headroom,
                staging: .allocate(capacity: Self.stagingSize)))
            madeReceive += 1
            let tx = try ring(2 * pair + 1, transmitLayout, offset: offsets[queuePairs + pair])
            let headerOffset = offsets[2 * queuePairs + pair]
            (transmit + pair).initialize(to: VirtioTransmitQueue(
                ring: tx, headers: memory.base + headerOffset, headersIOVA: memory.iova(atOffset: headerOffset),
                staging: .allocate(capacity: Self.stagingSize)))
            madeTransmit += 1
        }
        receiveQueueCount = queuePairs
        transmitQueueCount = queuePairs
        if negotiatedFeatures.contains(.ctrlVQ) {
            let controlLayout = SplitVirtqueueLayout(size: controlRingSize)
            let ring = try ring(controlQueueIndex, controlLayout, offset: offsets[3 * queuePairs])
            let bufferOffset = offsets[3 * queuePairs + 1]
            control = VirtioControlQueue(ring: ring, buffer: memory.base + bufferOffset, bufferIOVA: memory.iova(atOffset: bufferOffset))
        }
        // Receive buffers go in before DRIVER_OK, so the device has room at once.
        for pair in 0..<queuePairs { refill(receive + pair) }
    }

    private(set) var receiveQueueCount = 0
    private(set) var transmitQueueCount = 0

    /// Frees the buffers the rings hold and the rings' bookkeeping (after a reset).
    private func releaseQueues() {
        let live = liveStatistics()
        if let receive = receiveQueues {
            for pair in 0..<receiveQueueCount {
                receive[pair].ring.releaseAllPackets()
                receive[pair].ring.slots.deallocate()
                receive[pair].staging.deallocate()
            }
            receive.deinitialize(count: receiveQueueCount)
            receive.deallocate()
        }
        if let transmit = transmitQueues {
            for pair in 0..<transmitQueueCount {
                transmit[pair].ring.releaseAllPackets()
                transmit[pair].ring.slots.deallocate()
                transmit[pair].staging.deallocate()
            }
            transmit.deinitialize(count: transmitQueueCount)
            transmit.deallocate()
        }
        if let control { control.ring.slots.deallocate() }
        // Counters of the stopped queues stay in the totals.
        retiredStatistics += live
        receiveQueues = nil
        transmitQueues = nil
        control = nil
        receiveQueueCount = 0
        transmitQueueCount = 0
    }

    // MARK: Control

    func sendControl(_ commandClass: VirtioControlQueue.Class, _ command: UInt8, payload: [UInt8]) throws(DeviceError) {
        guard control != nil else {
            throw DeviceError(.unsupported, "\(function.name): no control queue (VIRTIO_NET_F_CTRL_VQ not negotiated)")
        }
        try control!.send(commandClass, command, payload: payload, timeout: options.controlTimeout)
    }

    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {
        guard isStarted else { promiscuous = enabled; return }
        guard negotiatedFeatures.contains(.ctrlRx) else {
            throw DeviceError(.unsupported, "\(function.name): promiscuous mode needs VIRTIO_NET_F_CTRL_RX, which is not negotiated")
        }
        try sendControl(.rx, VirtioControlQueue.rxPromiscuous, payload: [enabled ? 1 : 0])
        promiscuous = enabled
    }

    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {
        guard isStarted else { allMulticast = enabled; return }
        guard negotiatedFeatures.contains(.ctrlRx) else {
            throw DeviceError(.unsupported, "\(function.name): all-multicast needs VIRTIO_NET_F_CTRL_RX, which is not negotiated")
        }
        try sendControl(.rx, VirtioControlQueue.rxAllMulticast, payload: [enabled ? 1 : 0])
        allMulticast = enabled
    }

    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard isStarted, negotiatedFeatures.contains(.ctrlMACAddress) else {
            throw DeviceError(.unsupported,
                "\(function.name): changing the MAC address needs a started port with VIRTIO_NET_F_CTRL_MAC_ADDR (\(isStarted ? "not negotiated" : "port not started"))")
        }
        try sendControl(.mac, VirtioControlQueue.macAddressSet, payload: [address.bytes.0, address.bytes.1, address.bytes.2, address.bytes.3, address.bytes.4, address.bytes.5])
        macAddress = address
    }

    // MARK: Link and statistics

    public func linkStatus() -> LinkStatus {
        let features = isStarted ? negotiatedFeatures : offeredFeatures
        guard features.contains(.status) else { return LinkStatus(isUp: true, speedMbps: 10_000) }
        let up = transport.readDeviceConfig16(VirtioNetConfig.status) & VirtioNetConfig.statusLinkUp != 0
        return LinkStatus(isUp: up, speedMbps: up ? 10_000 : 0)
    }

    /// Counters since start or the last reset: those of queues stopped
    /// before plus the live ones, less the values at the last reset. The
    /// queues' own counters are only written by their cores.
    public func statistics() -> PortStatistics {
        var total = retiredStatistics
        total += liveStatistics()
        return total.subtracting(zeroPoint)
    }

    public func resetStatistics() {
        var total = retiredStatistics
        total += liveStatistics()
        zeroPoint = total
    }

    func liveStatistics() -> PortStatistics {
        var total = PortStatistics()
        var receiveKicks: UInt64 = 0, transmitKicks: UInt64 = 0, bad: UInt64 = 0
        if let receive = receiveQueues {
            for pair in 0..<receiveQueueCount {
                let ring = receive[pair].ring
                total.receivedPackets += ring.counters.packets
                total.receivedBytes += ring.counters.bytes
                total.receiveErrors += ring.counters.errors
                total.receiveNoBuffer += ring.counters.noBuffer
                receiveKicks += ring.kicks
                bad += ring.badUsedEntries
            }
        }
        if let transmit = transmitQueues {
            for pair in 0..<transmitQueueCount {
                let ring = transmit[pair].ring
                total.transmittedPackets += ring.counters.packets
                total.transmittedBytes += ring.counters.bytes
                total.transmitErrors += ring.counters.errors
                transmitKicks += ring.kicks
                bad += ring.badUsedEntries
            }
        }
        total.extended = ["rx_kicks": receiveKicks, "tx_kicks": transmitKicks, "bad_used_entries": bad]
        return total
    }
}

extension PortStatistics {
    func subtracting(_ other: PortStatistics) -> PortStatistics {
        var result = self
        result.receivedPackets &-= other.receivedPackets
        result.receivedBytes &-= other.receivedBytes
        result.transmittedPackets &-= other.transmittedPackets
        result.transmittedBytes &-= other.transmittedBytes
        result.receiveMissed &-= other.receiveMissed
        result.receiveErrors &-= other.receiveErrors
        result.transmitErrors &-= other.transmitErrors
        result.receiveNoBuffer &-= other.receiveNoBuffer
        for (key, value) in other.extended { result.extended[key, default: 0] &-= value }
        return result
    }
}

@inline(__always)
func roundUp(_ value: Int, _ unit: Int) -> Int { (value + unit - 1) / unit * unit }

func hex(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
