import LinkAddress
import NetDevice
import Packets
import Wire

/// A device that spreads flows over its own queue pairs by RSS, one pair
/// per core. The device puts every frame it does not hash (ARP, ICMPv6
/// with NDP) on queue 0, so an ARP reply or neighbour advertisement
/// answering core k would reach only core 0: core 0's queue copies each
/// through a ring to every other core, as software steering does, so each
/// core's ARP and neighbour caches learn their answers.
/// Each core sees a `DeviceQueue`, an ordinary one-queue NetDevice.
public final class DeviceQueues: @unchecked Sendable {
    public let device: any NetDevice
    let pool: PacketPool
    /// Copies of ARP replies for core k (k ≥ 1), produced by core 0.
    let arpRings: [Ring<PacketBuffer>]
    let arpDrops: UnsafeMutablePointer<UInt64>

    /// `device` must be configured and started with `count` queue pairs.
    public init(device: any NetDevice, queues count: Int, pool: PacketPool, ringSize: Int = 256) throws(DeviceError) {
        guard count >= 1 else { throw DeviceError(.invalidConfiguration, "device queues for \(count) cores") }
        self.device = device
        self.pool = pool
        do {
            arpRings = try (0..<count).map { _ in try Ring<PacketBuffer>(capacity: ringSize, producers: .single, consumers: .single) }
        } catch {
            throw DeviceError(.invalidConfiguration, "ARP rings of \(ringSize): \(error)")
        }
        arpDrops = .allocate(capacity: count)
        arpDrops.initialize(repeating: 0, count: count)
    }

    deinit {
        for ring in arpRings { while let packet = ring.dequeue() { packet.free() } }
        arpDrops.deallocate()
    }

    public var queueCount: Int { arpRings.count }

    /// Core `index`'s queue pair. It keeps the device and its rings alive
    /// (a stack may outlive the program's own reference, as at exit).
    public func queue(_ index: Int) -> DeviceQueue {
        precondition(index >= 0 && index < queueCount, "device queue \(index) of \(queueCount)")
        return DeviceQueue(queues: self, index: index)
    }

    /// Core 0: copies the ARP replies among `packets` to every other core.
    @inline(__always)
    func fanOutARPReplies(_ packets: UnsafeMutableBufferPointer<PacketBuffer>) {
        for packet in packets where EthernetFrame.isNeighborAnswer(packet.bytes) {
            for core in 1..<queueCount {
                guard let copy = packet.copy(into: pool) else { arpDrops[core] += 1; continue }
                if !arpRings[core].enqueue(copy) {
                    copy.free()
                    arpDrops[core] += 1
                }
            }
        }
    }
}

/// One core's queue pair of a device with RSS.
public final class DeviceQueue: NetDevice {
    let queues: DeviceQueues
    public let index: Int

    init(queues: DeviceQueues, index: Int) {
        self.queues = queues
        self.index = index
    }

    public var info: DeviceInfo {
        var info = queues.device.info
        info.deviceName += " queue \(index) of \(queues.queueCount)"
        info.maximumReceiveQueues = 1
        info.maximumTransmitQueues = 1
        return info
    }

    public var macAddress: MACAddress { queues.device.macAddress }
    public var transmitOffloadsInUse: OffloadFlags { queues.device.transmitOffloadsInUse }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        guard configuration.receiveQueues == 1, configuration.transmitQueues == 1 else {
            throw DeviceError(.invalidConfiguration, "a device queue is one queue pair: one core, one queue")
        }
    }

    public func start() throws(DeviceError) {}
    public func stop() {}

    @inline(__always)
    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        var count = 0
        if index > 0 {
            // The ARP replies core 0 passed on, then the device's frames.
            count = queues.arpRings[index].dequeue(burst: packets)
            if count == packets.count { return count }
        }
        let received = queues.device.receive(queue: index, into: UnsafeMutableBufferPointer(rebasing: packets[count...]))
        if index == 0 && queues.queueCount > 1 && received > 0 {
            queues.fanOutARPReplies(UnsafeMutableBufferPointer(rebasing: packets[count..<count + received]))
        }
        return count + received
    }

    @inline(__always)
    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        queues.device.transmit(queue: index, packets)
    }

    public func linkStatus() -> LinkStatus { queues.device.linkStatus() }

    /// The whole device's counters (the device counts per port, not per queue)
    /// and this core's ARP copies dropped.
    public func statistics() -> PortStatistics {
        var statistics = queues.device.statistics()
        statistics.extended["steering.arpCopyDrops"] = queues.arpDrops[index]
        return statistics
    }

    public func resetStatistics() { queues.arpDrops[index] = 0 }

    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) { try queues.device.setPromiscuous(enabled) }
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) { try queues.device.setAllMulticast(enabled) }
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) { try queues.device.setMACAddress(address) }
}
