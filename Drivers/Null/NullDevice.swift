import NetDevice
import Packets
import Wire

/// A port with no wire (DPDK's net_null): receive fills the burst with
/// copies of a template frame, allocated from the configured pool;
/// transmit frees what it is given. Measures the cost of everything above
/// the driver. Up to 16 queue pairs, each counted on its own (one core each).
public final class NullDevice: NetDevice {
    public private(set) var info: DeviceInfo
    public private(set) var macAddress: MACAddress
    /// The frame every received packet is a copy of.
    public let template: [UInt8]
    private let templateStorage: UnsafeMutableRawBufferPointer
    private var pool: PacketPool?
    private var started = false
    /// One set of counters per queue pair, each written by its queue's core only.
    private var queueCounters = UnsafeMutableBufferPointer<PortStatistics>(start: nil, count: 0)
    public static let maximumQueues = 16

    public init(name: String = "null0", template: [UInt8],
                macAddress: MACAddress = MACAddress(0x02, 0, 0, 0, 0, 0x0e)) throws(DeviceError) {
        guard template.count >= 14, template.count <= 9014 else {
            throw DeviceError(.invalidConfiguration, "null device template of \(template.count) bytes: must be 14...9014 (an Ethernet frame)")
        }
        self.template = template
        self.macAddress = macAddress
        templateStorage = .allocate(byteCount: template.count, alignment: 64)
        templateStorage.copyBytes(from: template)
        info = DeviceInfo(driverName: "null", deviceName: name, maximumReceiveQueues: Self.maximumQueues,
                          maximumTransmitQueues: Self.maximumQueues, ringSizes: 1...4096,
                          maximumFrameLength: max(1514, template.count), mtu: max(1500, template.count - 14))
    }

    deinit {
        templateStorage.deallocate()
        releaseCounters()
    }

    private func releaseCounters() {
        guard let base = queueCounters.baseAddress else { return }
        base.deinitialize(count: queueCounters.count)
        base.deallocate()
        queueCounters = UnsafeMutableBufferPointer(start: nil, count: 0)
    }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        try configuration.validate(against: info)
        let pool = configuration.receivePools[0]
        guard pool.dataRoomSize >= template.count else {
            throw DeviceError(.invalidConfiguration, "null device: pool '\(pool.name)' data room \(pool.dataRoomSize) is smaller than the \(template.count)-byte template")
        }
        self.pool = pool
        releaseCounters()
        let queues = max(configuration.receiveQueues, configuration.transmitQueues)
        let storage = UnsafeMutablePointer<PortStatistics>.allocate(capacity: queues)
        storage.initialize(repeating: PortStatistics(), count: queues)
        queueCounters = UnsafeMutableBufferPointer(start: storage, count: queues)
    }

    public func start() throws(DeviceError) {
        guard pool != nil else { throw DeviceError(.wrongState, "\(info.deviceName): configure before start") }
        started = true
    }

    public func stop() { started = false }

    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue >= 0, queue < queueCounters.count, let pool else { return 0 }
        let n = pool.allocate(into: packets)
        if n < packets.count { queueCounters[queue].receiveNoBuffer += 1 }
        let length = templateStorage.count
        for i in 0..<n {
            let packet = packets[i]
            packet.data.copyMemory(from: templateStorage.baseAddress!, byteCount: length)
            packet.length = length
            packet.port = 0
        }
        queueCounters[queue].receivedPackets += UInt64(n)
        queueCounters[queue].receivedBytes += UInt64(n * length)
        return n
    }

    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue >= 0, queue < queueCounters.count else { return 0 }
        var bytes = 0
        for packet in packets {
            bytes += packet.packetLength
            packet.free()
        }
        queueCounters[queue].transmittedBytes += UInt64(bytes)
        queueCounters[queue].transmittedPackets += UInt64(packets.count)
        return packets.count
    }

    public func linkStatus() -> LinkStatus { LinkStatus(isUp: started) }
    /// The sum over the queues.
    public func statistics() -> PortStatistics {
        var total = PortStatistics()
        for queue in queueCounters {
            total.receivedPackets += queue.receivedPackets
            total.receivedBytes += queue.receivedBytes
            total.transmittedPackets += queue.transmittedPackets
            total.transmittedBytes += queue.transmittedBytes
            total.receiveNoBuffer += queue.receiveNoBuffer
        }
        return total
    }

    public func resetStatistics() {
        for i in queueCounters.indices { queueCounters[i] = PortStatistics() }
    }
    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard address.isValidUnicast else {
            throw DeviceError(.invalidConfiguration, "MAC address \(address) is not a valid unicast address")
        }
        macAddress = address
    }
}
