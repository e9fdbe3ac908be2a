import LinkAddress
import NetDevice
import Packets

/// One core's view of a software-steered port: an ordinary NetDevice with
/// one queue pair. Receive takes the frames steered to this core (on the
/// owner, queue 0, it first runs the steering itself); transmit hands
/// frames to the device (owner) or to the owner through a ring (others).
/// Configure, start and stop concern the device, which its bring-up owns:
/// here they only check the request.
public final class SteeredQueue: NetDevice {
    let steering: SoftwareSteering
    public let index: Int

    init(steering: SoftwareSteering, index: Int) {
        self.steering = steering
        self.index = index
    }

    public var isOwner: Bool { index == 0 }

    public var info: DeviceInfo {
        var info = steering.device.info
        info.driverName = "steered(\(info.driverName))"
        info.deviceName = "\(info.deviceName) queue \(index) of \(steering.queueCount)"
        info.maximumReceiveQueues = 1
        info.maximumTransmitQueues = 1
        info.notes.append("software RSS: queue 0's core receives and hashes every frame (Toeplitz), others get theirs through rings")
        return info
    }

    public var macAddress: MACAddress { steering.device.macAddress }
    /// Frames of every queue reach the device unchanged, offload requests too.
    public var transmitOffloadsInUse: OffloadFlags { steering.device.transmitOffloadsInUse }

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        guard configuration.receiveQueues == 1, configuration.transmitQueues == 1 else {
            throw DeviceError(.invalidConfiguration, "a steered queue is one queue pair: one core, one queue")
        }
    }

    public func start() throws(DeviceError) {}
    public func stop() {}

    @inline(__always)
    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        if isOwner { steering.pump() }
        let count = steering.receiveRings[index].dequeue(burst: packets)
        steering.counters[index].delivered += UInt64(count)
        return count
    }

    @inline(__always)
    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        let sent: Int
        if isOwner {
            sent = steering.device.transmit(queue: 0, packets)
        } else {
            sent = steering.transmitRings[index].enqueue(burst: UnsafeBufferPointer(packets))
            steering.counters[index].transmitRingFull += UInt64(packets.count - sent)
        }
        steering.counters[index].transmitted += UInt64(sent)
        return sent
    }

    public func linkStatus() -> LinkStatus { steering.device.linkStatus() }

    /// This queue's share: frames delivered and sent through it; drops of
    /// its rings in `receiveNoBuffer` and `extended`.
    public func statistics() -> PortStatistics {
        let counters = steering.counters(ofQueue: index)
        var statistics = PortStatistics()
        statistics.receivedPackets = counters.delivered
        statistics.transmittedPackets = counters.transmitted
        statistics.receiveNoBuffer = counters.receiveRingFull
        statistics.extended = [
            "steering.steered": counters.steered, "steering.receiveRingFull": counters.receiveRingFull,
            "steering.copyFailures": counters.copyFailures, "steering.transmitRingFull": counters.transmitRingFull,
        ]
        return statistics
    }

    public func resetStatistics() { steering.counters[index] = SteeringCounters() }

    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) { try steering.device.setPromiscuous(enabled) }
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) { try steering.device.setAllMulticast(enabled) }
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) { try steering.device.setMACAddress(address) }
}
