import Platform
@testable import VirtioNet

/// A software model of a virtio-net PCI device, for host tests: config
/// space with virtio capabilities, a modern register BAR (common, ISR,
/// device config, notify) and a legacy I/O register block, and a device
/// side that works the split virtqueues in DMA memory (IOVA = virtual
/// address). Receive and transmit processing run when the test asks; the
/// control queue is answered at its doorbell, as QEMU does.
final class SoftwareVirtioNetDevice {
    struct Setup {
        var legacy = false
        var deviceID: UInt16 = 0x1041
        var features: VirtioFeatures = [.version1, .mac, .status, .mtu, .mergeableRxBuffers, .csum, .guestCsum,
                                        .ctrlVQ, .ctrlRx, .ctrlMACAddress, .multiqueue, .eventIndex, .anyLayout,
                                        .hostTSO4, .ringPacked, .indirectDescriptors]
        /// Features whose acceptance makes the device clear FEATURES_OK.
        var refused: VirtioFeatures = []
        var queueSize = 256
        /// Per-queue overrides of the maximum size.
        var queueSizes: [Int: Int] = [:]
        var maxPairs = 4
        var mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
        var mtu: UInt16 = 1500
        var linkUp = true
        var notifyOffsetMultiplier: UInt32 = 4
        /// Overrides of a capability's (offset, length) in BAR 4.
        var capabilityWindows: [VirtioPCICapability.Kind: (offset: UInt32, length: UInt32)] = [:]
        var behindIOMMU = false
        /// VIRTIO_NET_F_RSS limits (config fields at 17, 18, 20).
        var rssMaxKeySize: UInt8 = 40
        var rssMaxTableLength: UInt16 = 128
        var supportedHashTypes: UInt32 = 0x3f
        /// MSI-X table entries the function offers (0: none).
        var msixVectors = 0
        /// queue_msix_vector reads back NO_VECTOR whatever is written.
        var refusesVectors = false
    }

    var setup: Setup

    // Register state
    private(set) var status: UInt8 = 0
    private var deviceFeatureSelect: UInt32 = 0
    private var driverFeatureSelect: UInt32 = 0
    private(set) var driverFeatures: VirtioFeatures = []
    private var queueSelect = 0
    var configGeneration: UInt8 = 0

    struct Queue {
        var size = 0
        var descriptors: UInt64 = 0
        var driver: UInt64 = 0
        var device: UInt64 = 0
        var enabled = false
        var lastAvail: UInt16 = 0
        var usedIndex: UInt16 = 0
        var notifications = 0
        var vector: UInt16 = 0xffff
    }
    private(set) var queues: [Queue] = []

    // What the device saw
    private(set) var statusWrites: [UInt8] = []
    private(set) var events: [String] = []
    private(set) var resets = 0
    /// Frames the device took from transmit queues: (queue, net header, frame).
    private(set) var transmitted: [(queue: Int, header: [UInt8], frame: [UInt8])] = []
    private(set) var promiscuous = true
    private(set) var allMulticast = false
    private(set) var activePairs = 1
    /// The last RSS_CONFIG: hash types, table, key (nil before one came).
    private(set) var rss: (hashTypes: UInt32, table: [UInt16], maxTransmitQueues: Int, key: [UInt8])?
    private(set) var controlCommands: [(UInt8, UInt8, [UInt8])] = []
    /// Whether the control queue is answered (false: a hung device).
    var answersControl = true
    /// Set VRING_USED_F_NO_NOTIFY on every used ring (a polling device).
    var suppressNotifications = false
    /// Under EVENT_IDX: the avail index the device wants a doorbell after.
    var availEvent: UInt16 = 0
    private(set) var receiveDrops = 0
    /// Bits of a queue address above the legacy 32-bit page number (set by
    /// the test's PCI function, whose IOVAs are virtual addresses).
    var legacyAddressHighBits: UInt64 = 0

    init(_ setup: Setup = Setup()) {
        self.setup = setup
        reset()
    }

    var totalQueues: Int { 2 * setup.maxPairs + 1 }
    var negotiatedHeaderSize: Int {
        driverFeatures.contains(.version1) || driverFeatures.contains(.mergeableRxBuffers) ? 12 : 10
    }

    private func reset() {
        status = 0
        driverFeatures = []
        queues = (0..<totalQueues).map { index in
            var queue = Queue()
            queue.size = setup.queueSizes[index] ?? setup.queueSize
            return queue
        }
        promiscuous = true
        allMulticast = false
        activePairs = 1
        resets += 1
    }

    func maximumSize(_ queue: Int) -> Int { setup.queueSizes[queue] ?? setup.queueSize }

    // MARK: Status and features

    private func writeStatus(_ value: UInt8) {
        statusWrites.append(value)
        events.append("status \(value)")
        if value == 0 { reset(); return }
        var value = value
        if value & VirtioDeviceStatus.featuresOK != 0 && status & VirtioDeviceStatus.featuresOK == 0 {
            let offered = setup.features
            if !driverFeatures.isSubset(of: offered) || !driverFeatures.intersection(setup.refused).isEmpty {
                value &= ~VirtioDeviceStatus.featuresOK
            }
        }
        status = value
    }

    private var offeredWord: UInt32 {
        let raw = setup.features.rawValue
        if setup.legacy { return UInt32(truncatingIfNeeded: raw) }
        return deviceFeatureSelect == 0 ? UInt32(truncatingIfNeeded: raw) : deviceFeatureSelect == 1 ? UInt32(truncatingIfNeeded: raw >> 32) : 0
    }

    // MARK: Device configuration

    func readDeviceConfig(_ offset: Int) -> UInt8 {
        switch offset {
        case 0..<6: return setup.mac[offset]
        case 6: return setup.linkUp ? 1 : 0
        case 7: return 0
        case 8: return UInt8(setup.maxPairs & 0xff)
        case 9: return UInt8(setup.maxPairs >> 8)
        case 10: return UInt8(setup.mtu & 0xff)
        case 11: return UInt8(setup.mtu >> 8)
        case 17: return setup.rssMaxKeySize
        case 18: return UInt8(setup.rssMaxTableLength & 0xff)
        case 19: return UInt8(setup.rssMaxTableLength >> 8)
        case 20..<24: return UInt8(truncatingIfNeeded: setup.supportedHashTypes >> (8 * UInt32(offset - 20)))
        default: return 0
        }
    }

    // MARK: Modern registers (BAR 4)

    static let commonOffset: UInt32 = 0x0000
    static let isrOffset: UInt32 = 0x1000
    static let deviceOffset: UInt32 = 0x2000
    static let notifyOffset: UInt32 = 0x3000
    static let modernBARSize = 0x4000

    func window(_ kind: VirtioPCICapability.Kind) -> (offset: UInt32, length: UInt32) {
        if let override = setup.capabilityWindows[kind] { return override }
        switch kind {
        case .common: return (Self.commonOffset, 0x38)
        case .isr: return (Self.isrOffset, 4)
        case .device: return (Self.deviceOffset, 0x40)
        case .notify: return (Self.notifyOffset, UInt32(totalQueues) * max(setup.notifyOffsetMultiplier, 2))
        case .pciConfig: return (0, 0)
        }
    }

    // MARK: Faults (VirtioHealthTests)

    /// Reads all-ones from now on, as a function gone from the bus does.
    var removed = false
    /// The device resets itself, as a PCIe function-level reset does.
    func resetFromOutside() { reset() }
    /// QEMU's virtio_error: DEVICE_NEEDS_RESET and a configuration change.
    func setNeedsReset() {
        status |= VirtioDeviceStatus.deviceNeedsReset
        configGeneration &+= 1
    }

    func modernRead(_ offset: Int, width: Int) -> UInt32 {
        if removed { return width >= 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(width))) - 1 }
        let common = Int(Self.commonOffset)
        if offset >= Int(Self.deviceOffset) && offset < Int(Self.deviceOffset) + 0x40 {
            var value: UInt32 = 0
            for i in 0..<width { value |= UInt32(readDeviceConfig(offset - Int(Self.deviceOffset) + i)) << (8 * i) }
            return value
        }
        if offset == Int(Self.isrOffset) { return 0 }
        switch offset - common {
        case 0x00: return deviceFeatureSelect
        case 0x04: return offeredWord
        case 0x08: return driverFeatureSelect
        case 0x0c: return UInt32(truncatingIfNeeded: driverFeatures.rawValue >> (driverFeatureSelect == 1 ? 32 : 0))
        case 0x12: return UInt32(totalQueues)
        case 0x14: return UInt32(status)
        case 0x15: return UInt32(configGeneration)
        case 0x16: return UInt32(queueSelect)
        case 0x18: return queueSelect < queues.count ? UInt32(queues[queueSelect].size) : 0
        case 0x1a: return queueSelect < queues.count ? UInt32(queues[queueSelect].vector) : 0xffff
        case 0x1c: return queueSelect < queues.count && queues[queueSelect].enabled ? 1 : 0
        case 0x1e: return UInt32(queueSelect)
        default: return 0
        }
    }

    func modernWrite(_ offset: Int, _ value: UInt32, width: Int) {
        if offset >= Int(Self.notifyOffset) {
            let relative = offset - Int(Self.notifyOffset)
            let expected = Int(value) * Int(setup.notifyOffsetMultiplier)
            precondition(relative == expected, "doorbell for queue \(value) written at notify offset \(relative), expected \(expected)")
            notify(Int(value))
            return
        }
        switch offset - Int(Self.commonOffset) {
        case 0x00: deviceFeatureSelect = value
        case 0x08: driverFeatureSelect = value
        case 0x0c:
            let shift: UInt64 = driverFeatureSelect == 1 ? 32 : 0
            let mask: UInt64 = 0xffff_ffff << shift
            driverFeatures = VirtioFeatures(rawValue: driverFeatures.rawValue & ~mask | UInt64(value) << shift)
        case 0x14: writeStatus(UInt8(truncatingIfNeeded: value))
        case 0x16: queueSelect = Int(value)
        case 0x18:
            if queueSelect < queues.count {
                precondition(Int(value) <= maximumSize(queueSelect), "queue size \(value) above the maximum")
                queues[queueSelect].size = Int(value)
            }
        case 0x1a:
            // A vector the table lacks reads back NO_VECTOR (virtio 1.x, 4.1.4.3).
            if queueSelect < queues.count {
                let usable = !setup.refusesVectors && Int(value) < setup.msixVectors
                queues[queueSelect].vector = usable ? UInt16(truncatingIfNeeded: value) : 0xffff
            }
        case 0x1c:
            if queueSelect < queues.count {
                queues[queueSelect].enabled = value == 1
                events.append("queue_enable \(queueSelect)")
            }
        case 0x20: setAddress(\.descriptors, low: value)
        case 0x24: setAddress(\.descriptors, high: value)
        case 0x28: setAddress(\.driver, low: value)
        case 0x2c: setAddress(\.driver, high: value)
        case 0x30: setAddress(\.device, low: value)
        case 0x34: setAddress(\.device, high: value)
        default: break
        }
    }

    private func setAddress(_ field: WritableKeyPath<Queue, UInt64>, low: UInt32) {
        guard queueSelect < queues.count else { return }
        queues[queueSelect][keyPath: field] = queues[queueSelect][keyPath: field] & ~0xffff_ffff | UInt64(low)
    }

    private func setAddress(_ field: WritableKeyPath<Queue, UInt64>, high: UInt32) {
        guard queueSelect < queues.count else { return }
        queues[queueSelect][keyPath: field] = queues[queueSelect][keyPath: field] & 0xffff_ffff | UInt64(high) << 32
    }

    // MARK: Legacy registers (BAR 0, I/O)

    static let legacyBARSize = 0x40

    func legacyRead(_ offset: Int, width: Int) -> UInt32 {
        switch offset {
        case 0x00: return offeredWord
        case 0x04: return UInt32(truncatingIfNeeded: driverFeatures.rawValue)
        case 0x08: return queueSelect < queues.count ? UInt32(truncatingIfNeeded: queues[queueSelect].descriptors >> 12) : 0
        case 0x0c: return queueSelect < queues.count ? UInt32(maximumSize(queueSelect)) : 0
        case 0x0e: return UInt32(queueSelect)
        case 0x12: return UInt32(status)
        case 0x13: return 0
        default:
            guard offset >= 0x14 else { return 0 }
            var value: UInt32 = 0
            for i in 0..<width { value |= UInt32(readDeviceConfig(offset - 0x14 + i)) << (8 * i) }
            return value
        }
    }

    func legacyWrite(_ offset: Int, _ value: UInt32, width: Int) {
        switch offset {
        case 0x04: driverFeatures = VirtioFeatures(rawValue: UInt64(value))
        case 0x08:
            guard queueSelect < queues.count else { return }
            let size = maximumSize(queueSelect)
            let base = UInt64(value) << 12 | legacyAddressHighBits
            let layout = SplitVirtqueueLayout(size: size)
            queues[queueSelect].size = size
            queues[queueSelect].descriptors = base
            queues[queueSelect].driver = base + UInt64(layout.availOffset)
            queues[queueSelect].device = base + UInt64(layout.usedOffset)
            queues[queueSelect].enabled = value != 0
            events.append("queue_pfn \(queueSelect)")
        case 0x0e: queueSelect = Int(value)
        case 0x10:
            notify(Int(value))
        case 0x12: writeStatus(UInt8(truncatingIfNeeded: value))
        default: break
        }
    }

    // MARK: Ring access (IOVA = virtual address)

    private func pointer(_ iova: UInt64) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(iova))! }

    private func load16(_ iova: UInt64) -> UInt16 { UInt16(littleEndian: pointer(iova).loadUnaligned(as: UInt16.self)) }
    private func store16(_ iova: UInt64, _ value: UInt16) { pointer(iova).storeBytes(of: value.littleEndian, as: UInt16.self) }

    struct Descriptor {
        var address: UInt64
        var length: Int
        var flags: UInt16
        var next: Int
    }

    private func descriptor(_ queue: Queue, _ id: Int) -> Descriptor {
        let base = pointer(queue.descriptors + UInt64(16 * id))
        return Descriptor(
            address: UInt64(littleEndian: base.load(as: UInt64.self)),
            length: Int(UInt32(littleEndian: base.load(fromByteOffset: 8, as: UInt32.self))),
            flags: UInt16(littleEndian: base.load(fromByteOffset: 12, as: UInt16.self)),
            next: Int(UInt16(littleEndian: base.load(fromByteOffset: 14, as: UInt16.self))))
    }

    private func chain(_ queue: Queue, head: Int) -> [Descriptor] {
        var result = [descriptor(queue, head)]
        while result.last!.flags & 1 != 0 && result.count <= queue.size {
            result.append(descriptor(queue, result.last!.next))
        }
        return result
    }

    /// The next available chain head of `index`, or nil.
    private func takeAvailable(_ index: Int) -> Int? {
        let queue = queues[index]
        guard queue.enabled, queue.size > 0 else { return nil }
        let availIndex = load16(queue.driver + 2)
        guard queue.lastAvail != availIndex else { return nil }
        let head = Int(load16(queue.driver + 4 + 2 * UInt64(Int(queue.lastAvail) % queue.size)))
        queues[index].lastAvail &+= 1
        return head
    }

    private func availableCount(_ index: Int) -> Int {
        let queue = queues[index]
        guard queue.enabled, queue.size > 0 else { return 0 }
        return Int(load16(queue.driver + 2) &- queue.lastAvail)
    }

    /// Writes used entries and then, once, used.idx.
    private func complete(_ index: Int, _ entries: [(id: Int, length: Int)]) {
        let queue = queues[index]
        var usedIndex = queue.usedIndex
        for entry in entries {
            let slot = queue.device + 4 + 8 * UInt64(Int(usedIndex) % queue.size)
            pointer(slot).storeBytes(of: UInt32(entry.id).littleEndian, as: UInt32.self)
            pointer(slot).storeBytes(of: UInt32(entry.length).littleEndian, toByteOffset: 4, as: UInt32.self)
            usedIndex &+= 1
        }
        store16(queue.device + 2, usedIndex)
        queues[index].usedIndex = usedIndex
        updateFlags(index)
    }

    private func updateFlags(_ index: Int) {
        let queue = queues[index]
        guard queue.enabled, queue.size > 0 else { return }
        store16(queue.device, suppressNotifications ? 1 : 0)
        store16(queue.device + 4 + 8 * UInt64(queue.size), availEvent)
    }

    /// Applies `suppressNotifications` / `availEvent` to every ring now.
    func publishNotificationSettings() {
        for index in queues.indices { updateFlags(index) }
    }

    /// Whether the driver asked for no interrupts on queue `index`.
    func interruptsSuppressed(_ index: Int) -> Bool { load16(queues[index].driver) & 1 != 0 }

    func notifications(_ index: Int) -> Int { queues[index].notifications }

    /// A doorbell. Allocates nothing (the allocation test measures the
    /// driver's burst calls, which ring it).
    private func notify(_ index: Int) {
        guard index < queues.count else { return }
        queues[index].notifications += 1
        if index == controlQueueIndex && answersControl { processControl() }
    }

    var controlQueueIndex: Int {
        driverFeatures.contains(.multiqueue) ? 2 * setup.maxPairs : 2
    }

    // MARK: Device behaviour

    /// Delivers `frames` into receive queue `pair`'s buffers; returns how
    /// many fitted (the rest are dropped, as a device without buffers does).
    @discardableResult
    func receive(_ frames: [[UInt8]], pair: Int = 0, headerFlags: UInt8 = 0, gsoType: UInt8 = 0) -> Int {
        let index = 2 * pair
        let headerSize = negotiatedHeaderSize
        let mergeable = driverFeatures.contains(.mergeableRxBuffers)
        var delivered = 0
        for frame in frames {
            var header = [UInt8](repeating: 0, count: headerSize)
            header[0] = headerFlags
            header[1] = gsoType
            var bytes = header + frame
            var entries: [(id: Int, length: Int)] = []
            var heads: [Int] = []
            var offset = 0
            while offset < bytes.count {
                guard let head = takeAvailable(index) else { break }
                heads.append(head)
                var written = 0
                for part in chain(queues[index], head: head) {
                    precondition(part.flags & 2 != 0, "receive descriptor \(head) is not device-writable")
                    let n = min(part.length, bytes.count - offset)
                    guard n > 0 else { break }
                    bytes.withUnsafeBytes { pointer(part.address).copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
                    offset += n
                    written += n
                }
                entries.append((head, written))
                if !mergeable { break }
            }
            guard offset == bytes.count else {
                // No room: give the buffers back unused.
                receiveDrops += 1
                if !entries.isEmpty { complete(index, entries.map { ($0.id, 0) }) }
                continue
            }
            if mergeable {
                let count = UInt16(entries.count)
                bytes[10] = UInt8(count & 0xff)
                bytes[11] = UInt8(count >> 8)
                let first = chain(queues[index], head: heads[0])[0]
                pointer(first.address + 10).storeBytes(of: count.littleEndian, as: UInt16.self)
            }
            complete(index, entries)
            delivered += 1
        }
        return delivered
    }

    /// Takes every available frame off transmit queue `pair`.
    @discardableResult
    func processTransmit(pair: Int = 0) -> Int {
        let index = 2 * pair + 1
        let headerSize = negotiatedHeaderSize
        var entries: [(id: Int, length: Int)] = []
        while let head = takeAvailable(index) {
            var bytes = [UInt8]()
            for part in chain(queues[index], head: head) {
                precondition(part.flags & 2 == 0, "transmit descriptor is device-writable")
                bytes += UnsafeRawBufferPointer(start: pointer(part.address), count: part.length)
            }
            transmitted.append((index, Array(bytes.prefix(headerSize)), Array(bytes.dropFirst(headerSize))))
            entries.append((head, 0))
        }
        if !entries.isEmpty { complete(index, entries) }
        return entries.count
    }

    func clearTransmitted() { transmitted.removeAll() }

    private func processControl() {
        let index = controlQueueIndex
        var entries: [(id: Int, length: Int)] = []
        while let head = takeAvailable(index) {
            let parts = chain(queues[index], head: head)
            var readable = [UInt8]()
            for part in parts where part.flags & 2 == 0 {
                readable += UnsafeRawBufferPointer(start: pointer(part.address), count: part.length)
            }
            let commandClass = readable[0]
            let command = readable[1]
            let data = Array(readable.dropFirst(2))
            controlCommands.append((commandClass, command, data))
            var ok = true
            switch (commandClass, command) {
            case (0, 0): promiscuous = data.first == 1
            case (0, 1): allMulticast = data.first == 1
            case (1, 1): setup.mac = data
            case (4, 0):
                let pairs = Int(data[0]) | Int(data[1]) << 8
                ok = pairs >= 1 && pairs <= setup.maxPairs && driverFeatures.contains(.multiqueue)
                if ok { activePairs = pairs }
            case (4, 1):
                ok = driverFeatures.contains(.rss) && applyRSSConfig(data)
            default: ok = false
            }
            if let ack = parts.last, ack.flags & 2 != 0 {
                pointer(ack.address).storeBytes(of: ok ? 0 : 1, as: UInt8.self)
            }
            entries.append((head, 1))
        }
        if !entries.isEmpty { complete(index, entries) }
    }

    /// VIRTIO_NET_CTRL_MQ_RSS_CONFIG, checked as QEMU checks it
    /// (virtio_net_handle_rss): a power-of-two table, queues and key in range.
    private func applyRSSConfig(_ data: [UInt8]) -> Bool {
        func u16(_ at: Int) -> Int { at + 1 < data.count ? Int(data[at]) | Int(data[at + 1]) << 8 : -1 }
        guard data.count >= 10 else { return false }
        let hashTypes = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
        let length = u16(4) + 1
        guard length > 0, length & (length - 1) == 0, length <= Int(setup.rssMaxTableLength) else { return false }
        let table = (0..<length).map { u16(8 + 2 * $0) }
        let maxTransmit = u16(8 + 2 * length)
        let keyLengthAt = 10 + 2 * length
        guard table.allSatisfy({ $0 >= 0 && $0 < setup.maxPairs }), (1...setup.maxPairs).contains(maxTransmit),
              keyLengthAt < data.count else { return false }
        let keyLength = Int(data[keyLengthAt])
        guard keyLength <= Int(setup.rssMaxKeySize), data.count == keyLengthAt + 1 + keyLength else { return false }
        rss = (hashTypes, table.map(UInt16.init), maxTransmit, Array(data[(keyLengthAt + 1)...]))
        activePairs = maxTransmit
        return true
    }

    /// Available entries the driver has posted on queue `index`.
    func posted(_ index: Int) -> Int { availableCount(index) }
}
