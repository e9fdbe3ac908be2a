import NetDevice
import Packets
import Wire

/// One end of a `LoopbackPair`. Transmit moves buffers into the peer's
/// receive ring (a full ring takes only a prefix, as a NIC would); receive
/// takes them out. An optional `LoopbackImpairment` drops, duplicates or
/// reorders frames on transmit.
public final class LoopbackPort: NetDevice {
    public private(set) var info: DeviceInfo
    public private(set) var macAddress: MACAddress
    /// What happens to frames this port transmits; set any time from the
    /// owning core.
    public var impairment: LoopbackImpairment = .none {
        didSet { impairmentIndex = 0 }
    }

    let receiveRing: Ring<PacketBuffer>
    let transmitRing: Ring<PacketBuffer>
    weak var peer: LoopbackPort?
    private(set) var pool: PacketPool?
    private var started = false
    private var counters = PortStatistics()
    private var dropped: UInt64 = 0
    private var duplicated: UInt64 = 0
    private var reordered: UInt64 = 0
    private var impairmentIndex = 0
    /// A frame held back by `.reorder`, sent after the next one.
    private var held: PacketBuffer?

    init(name: String, macAddress: MACAddress, receiveRing: Ring<PacketBuffer>, transmitRing: Ring<PacketBuffer>) {
        self.macAddress = macAddress
        self.receiveRing = receiveRing
        self.transmitRing = transmitRing
        info = DeviceInfo(driverName: "loopback", deviceName: name, ringSizes: 1...4096,
                          maximumFrameLength: 1514, mtu: 1500)
    }

    deinit { stop() }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        try configuration.validate(against: info)
        pool = configuration.receivePools[0]
    }

    public func start() throws(DeviceError) {
        guard pool != nil else { throw DeviceError(.wrongState, "\(info.deviceName): configure before start") }
        started = true
    }

    /// Stops and frees frames waiting for this port.
    public func stop() {
        started = false
        held?.free()
        held = nil
        withUnsafeTemporaryAllocation(of: PacketBuffer.self, capacity: 32) { burst in
            while true {
                let n = receiveRing.dequeue(burst: burst)
                if n == 0 { break }
                PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<n]))
            }
        }
    }

    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0 else { return 0 }
        let n = receiveRing.dequeue(burst: packets)
        for i in 0..<n {
            packets[i].port = 0
            counters.receivedPackets += 1
            counters.receivedBytes += UInt64(packets[i].packetLength)
        }
        return n
    }

    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard started, queue == 0, let peer, peer.started else { return 0 }
        if impairment.pattern.count == 1 && impairment.pattern[0] == .pass && held == nil {
            let n = transmitRing.enqueue(burst: UnsafeBufferPointer(packets))
            for i in 0..<n { countTransmitted(packets[i]) }
            return n
        }
        var taken = 0
        while taken < packets.count, transmitRing.freeCount >= 3 {
            let packet = packets[taken]
            taken += 1
            let action = impairment.pattern[impairmentIndex]
            impairmentIndex = (impairmentIndex + 1) % impairment.pattern.count
            countTransmitted(packet)
            switch action {
            case .pass:
                deliver(packet)
            case .drop:
                dropped += 1
                packet.free()
            case .duplicate:
                deliver(packet)
                if let copy = copyOf(packet) {
                    duplicated += 1
                    deliver(copy)
                }
            case .reorder:
                if let earlier = held {
                    // Two reorders in a row: release the older one first.
                    _ = transmitRing.enqueue(earlier)
                }
                held = packet
                reordered += 1
                continue
            }
        }
        return taken
    }

    private func deliver(_ packet: PacketBuffer) {
        _ = transmitRing.enqueue(packet)
        if let earlier = held {
            held = nil
            _ = transmitRing.enqueue(earlier)
        }
    }

    private func countTransmitted(_ packet: PacketBuffer) {
        counters.transmittedPackets += 1
        counters.transmittedBytes += UInt64(packet.packetLength)
    }

    private func copyOf(_ packet: PacketBuffer) -> PacketBuffer? {
        guard let pool = peer?.pool ?? pool, let copy = pool.allocate() else { return nil }
        guard packet.packetLength <= copy.tailroom, let destination = copy.append(packet.packetLength) else {
            copy.free()
            return nil
        }
        _ = packet.copyBytes(from: 0, count: packet.packetLength, to: destination)
        return copy
    }

    public func linkStatus() -> LinkStatus { LinkStatus(isUp: started && peer?.started == true, speedMbps: 100_000) }

    public func statistics() -> PortStatistics {
        var result = counters
        result.extended = ["impaired_dropped": dropped, "impaired_duplicated": duplicated,
                           "impaired_reordered": reordered]
        return result
    }

    public func resetStatistics() {
        counters = PortStatistics()
        dropped = 0
        duplicated = 0
        reordered = 0
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
