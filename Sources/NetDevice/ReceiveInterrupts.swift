/// A device whose receive queues can wake a sleeping core (DPDK's rx
/// interrupt mode: rte_eth_dev_rx_intr_enable / _disable and the queue's
/// event descriptor, as l3fwd-power uses them). A core whose queues stay
/// empty enables the interrupt, checks the queue once more, sleeps in
/// epoll on the descriptor, and disables it again when it wakes (Stack's
/// CoreIdle). A device without it keeps its cores polling or sleeping.
public protocol ReceiveInterrupts: AnyObject {
    /// The descriptor that becomes readable when `queue` has received a
    /// frame while its interrupt is enabled (a tap's own descriptor, a VFIO
    /// eventfd, /dev/uioN), or nil when the queue has none.
    func receiveInterruptDescriptor(queue: Int) -> Int32?
    /// Arms the interrupt before the core sleeps.
    func enableReceiveInterrupt(queue: Int)
    /// Disarms it after the core woke, and acknowledges what fired.
    func disableReceiveInterrupt(queue: Int)
    /// What signals (for reports: "msi-x", "intx", a tap's "descriptor").
    var receiveInterruptKind: String { get }
}

extension ReceiveInterrupts {
    public var receiveInterruptKind: String { "descriptor" }
}
