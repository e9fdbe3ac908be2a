import NetDevice

/// A core's queue pair of an RSS device sleeps on the device's interrupt
/// for that queue (virtio-net: its MSI-X vector), when the device has one.
/// The ARP replies core 0 copies to another core's ring raise nothing:
/// that core sees them on its last look before sleeping or when it wakes
/// (at the latest after CoreIdle's 10 ms timeout, which applies while an
/// ARP resolution keeps a timer pending).
extension DeviceQueue: ReceiveInterrupts {
    private var interrupts: (any ReceiveInterrupts)? { queues.device as? any ReceiveInterrupts }

    public func receiveInterruptDescriptor(queue: Int) -> Int32? {
        interrupts?.receiveInterruptDescriptor(queue: index)
    }

    public func enableReceiveInterrupt(queue: Int) { interrupts?.enableReceiveInterrupt(queue: index) }
    public func disableReceiveInterrupt(queue: Int) { interrupts?.disableReceiveInterrupt(queue: index) }
    public var receiveInterruptKind: String { interrupts?.receiveInterruptKind ?? "none" }
}
