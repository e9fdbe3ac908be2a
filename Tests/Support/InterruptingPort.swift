import CPlatform
import Glibc
import NetDevice
import Packets
import Wire

/// A port (a loopback's, wrapped) with a receive "interrupt": an eventfd the test (or
/// the peer's transmit) signals, armed and disarmed as a NIC's would be.
public final class InterruptingPort: NetDevice, ReceiveInterrupts, @unchecked Sendable {
    public let inner: any NetDevice
    public let event = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
    public var armed = 0, disarmed = 0

    public init(_ inner: any NetDevice) { self.inner = inner }
    deinit { close(event) }

    public var info: DeviceInfo { inner.info }
    public var macAddress: MACAddress { inner.macAddress }
    public func configure(_ configuration: PortConfiguration) throws(DeviceError) { try inner.configure(configuration) }
    public func start() throws(DeviceError) { try inner.start() }
    public func stop() { inner.stop() }
    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int { inner.receive(queue: queue, into: packets) }
    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int { inner.transmit(queue: queue, packets) }
    public func linkStatus() -> LinkStatus { inner.linkStatus() }
    public func statistics() -> PortStatistics { inner.statistics() }
    public func resetStatistics() { inner.resetStatistics() }
    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) { try inner.setPromiscuous(enabled) }
    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) { try inner.setAllMulticast(enabled) }
    public func setMACAddress(_ address: MACAddress) throws(DeviceError) { try inner.setMACAddress(address) }

    public func receiveInterruptDescriptor(queue: Int) -> Int32? { event }
    public func enableReceiveInterrupt(queue: Int) { armed += 1 }
    public func disableReceiveInterrupt(queue: Int) {
        disarmed += 1
        var count: UInt64 = 0
        _ = read(event, &count, 8)
    }

    public func fire() {
        var one: UInt64 = 1
        _ = write(event, &one, 8)
    }
}
