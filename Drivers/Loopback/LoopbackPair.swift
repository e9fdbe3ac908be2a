import NetDevice
import Packets
import Wire

/// Two ports wired back to back in memory: what one transmits, the other
/// receives, through a ring, without copying. Made for two stacks in one
/// process (tests, benchmarks), on one thread or two (one per port).
public final class LoopbackPair {
    public let first: LoopbackPort
    public let second: LoopbackPort

    /// - Parameter ringSize: frames in flight per direction (a power of two).
    public init(ringSize: Int = 1024,
                firstAddress: MACAddress = MACAddress(0x02, 0, 0, 0, 0, 1),
                secondAddress: MACAddress = MACAddress(0x02, 0, 0, 0, 0, 2)) throws(DeviceError) {
        let a: Ring<PacketBuffer>
        let b: Ring<PacketBuffer>
        do {
            a = try Ring(capacity: ringSize, producers: .single, consumers: .single)
            b = try Ring(capacity: ringSize, producers: .single, consumers: .single)
        } catch {
            throw DeviceError(.invalidConfiguration, "loopback ring size \(ringSize): \(error.description)")
        }
        first = LoopbackPort(name: "loopback0", macAddress: firstAddress, receiveRing: a, transmitRing: b)
        second = LoopbackPort(name: "loopback1", macAddress: secondAddress, receiveRing: b, transmitRing: a)
        first.peer = second
        second.peer = first
    }
}
