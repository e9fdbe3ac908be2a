import NetDevice
import Packets
import Wire

/// A port with no wire (DPDK's net_null): receive fills the burst with
/// copies of a template frame, allocated from the configured pool;
/// transmit frees what it is given. Measures the cost of everything above
/// the driver.
public final class NullDevice: NetDevice {
    public private(set) var info: DeviceInfo
    public private(set) var macAddress: MACAddress
    /// The frame every received packet is a copy of.
    public let template: [UInt8]
    private let templateStorage: UnsafeMutableRawBufferPointer
    private var pool: PacketPool?
    private var started = false
    private var counters = PortStatistics()

    public init(name: String = "null0", template: [UInt8],
                macAddress: MACAddress = MACAddress(0x02, 0, 0, 0, 0, 0x0e)) throws(DeviceError) {
        guard template.count >= 14, template.count <= 9014 else {
            throw DeviceError(.invalidConfiguration, "null device template of \(template.count) bytes: must be 14...9014 (an Ethernet frame)")
        }
        self.template = template
        self.macAddress = macAddress
        templateStorage = .allocate(byteCount: template.count, alignment: 64)
        templateStorage.copyBytes(from: template)
        info = DeviceInfo(driverName: "null", deviceName: name, ringSizes: 1...4096,
                          maximumFrameLength: max(1514, template.count), mtu: max(1500, template.count - 14))
    }

    deinit { templateStorage.deallocate() }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        try configuration.validate(against: info)
        let pool = configuration.receivePools[0]
        guard pool.dataRoomSize >= template.count else {
            throw DeviceError(.invalidConfiguration, "null device: pool '\(pool.name)' data room \(pool.dataRoomSize) is smaller than the \(template.count)-byte template")
        }
        self.pool = pool
    }

    public func start() throws(DeviceError) {
        guard pool != nil else { throw DeviceError(.wrongState, "\(info.deviceName): configure before start") }
        started = true
    }

    public func stop() { started = false }

    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0, let pool else { return 0 }
        let n = pool.allocate(into: packets)
        if n < packets.count { counters.receiveNoBuffer += 1 }
        let length = templateStorage.count
        for i in 0..<n {
            let packet = packets[i]
            packet.data.copyMemory(from: templateStorage.baseAddress!, byteCount: length)
            packet.length = length
            packet.port = 0
        }
        counters.receivedPackets += UInt64(n)
        counters.receivedBytes += UInt64(n * length)
        return n
    }

    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0 else { return 0 }
        for packet in packets {
            counters.transmittedBytes += UInt64(packet.packetLength)
            packet.free()
        }
        counters.transmittedPackets += UInt64(packets.count)
        return packets.count
    }

    public func linkStatus() -> LinkStatus { LinkStatus(isUp: started) }
    public func statistics() -> PortStatistics { counters }
    public func resetStatistics() { counters = PortStatistics() }
    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard address.isValidUnicast else {
            throw DeviceError(.invalidConfiguration, "MAC address \(address) is not a valid unicast address")
        }
        macAddress = address
    }
}
