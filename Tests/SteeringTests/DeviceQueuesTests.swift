import LinkAddress
import NetDevice
import Packets
import Steering
import Testing
import Wire

/// A device with several receive queues whose frames a test places by hand
/// (as a device's RSS would), and that keeps what is transmitted per queue.
final class QueuedTestDevice: NetDevice {
    var pending: [[PacketBuffer]]
    var sent: [[PacketBuffer]]
    init(queues: Int) {
        pending = Array(repeating: [], count: queues)
        sent = Array(repeating: [], count: queues)
    }
    var info: DeviceInfo { DeviceInfo(driverName: "test", deviceName: "queued", maximumReceiveQueues: pending.count, maximumTransmitQueues: pending.count) }
    var macAddress: MACAddress { MACAddress(2, 0, 0, 0, 0, 1) }
    func configure(_ configuration: PortConfiguration) throws(DeviceError) {}
    func start() throws(DeviceError) {}
    func stop() {}
    func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        let count = min(packets.count, pending[queue].count)
        for i in 0..<count { packets[i] = pending[queue].removeFirst() }
        return count
    }
    func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        sent[queue] += packets
        return packets.count
    }
    func linkStatus() -> LinkStatus { LinkStatus(isUp: true) }
    func statistics() -> PortStatistics { PortStatistics() }
    func resetStatistics() {}
    func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    func setMACAddress(_ address: MACAddress) throws(DeviceError) {}
}

@Suite("device RSS queues: one per core, ARP replies fanned out from queue 0")
struct DeviceQueuesTests {
    func frame(_ pool: PacketPool, etherType: UInt16, operation: UInt16 = 2) throws -> PacketBuffer {
        let packet = try #require(pool.allocate())
        let bytes = try #require(packet.append(42))
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: 42)
        bytes.storeBytes(of: etherType.bigEndian, toByteOffset: 12, as: UInt16.self)
        let arp: [UInt8] = [0, 1, 8, 0, 6, 4, UInt8(operation >> 8), UInt8(operation & 0xff)]
        for (i, byte) in arp.enumerated() { bytes.storeBytes(of: byte, toByteOffset: 14 + i, as: UInt8.self) }
        return packet
    }

    @Test("an ARP reply on queue 0 reaches every core; other frames stay on their queue; transmit uses the core's queue")
    func arpRepliesFanOut() throws {
        let pool = try PacketPool(name: "device-queues-test", capacity: 256, cacheSize: 0, policy: .anonymous)
        let device = QueuedTestDevice(queues: 3)
        let queues = try DeviceQueues(device: device, queues: 3, pool: pool)
        device.pending[0] = [try frame(pool, etherType: 0x0806), try frame(pool, etherType: 0x0806, operation: 1)]
        device.pending[2] = [try frame(pool, etherType: 0x0800)]
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 8)
        defer { burst.deallocate() }
        #expect(queues.queue(0).receive(queue: 0, into: burst) == 2, "core 0 keeps the reply and the request")
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<2]))
        #expect(queues.queue(1).receive(queue: 0, into: burst) == 1, "core 1 gets a copy of the reply only")
        #expect(EthernetFrame.isARPReply(burst[0].bytes))
        burst[0].free()
        #expect(queues.queue(2).receive(queue: 0, into: burst) == 2, "core 2: the copy, then its own IPv4 frame")
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<2]))
        let out = try frame(pool, etherType: 0x0800)
        burst[0] = out
        #expect(queues.queue(2).transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: burst[0..<1])) == 1)
        #expect(device.sent[2].count == 1 && device.sent[0].isEmpty)
        out.free()
        #expect(pool.statistics.available == 256, "every buffer came back")
    }
}
