import NetDevice
import Platform

/// The receive interrupt of an idle core (Stack's CoreIdle): the function's
/// INTx through VFIO (an eventfd) or UIO (/dev/uioN), raised by a used-buffer
/// notification of receive queue 0 (virtio 1.x, 2.7.7 and 4.1.4.5). MSI-X
/// stays off, so the device signals INTx and sets ISR bit 0.
///
/// Enabling reads ISR (a stale cause drops the line), unmasks INTx at the
/// host (vfio-pci/uio masked it when it last fired) and turns the queue's
/// notifications on (used_event under EVENT_IDX, else the avail flag), with
/// a full barrier; CoreIdle then looks at the queue once more. Disabling
/// turns notifications off, reads ISR (acknowledge) and drains the
/// descriptor. Only with one queue pair: INTx is one line for every queue.
extension VirtioNetDevice: ReceiveInterrupts {
    public func receiveInterruptDescriptor(queue: Int) -> Int32? {
        guard queue == 0, receiveQueueCount == 1, let interrupt = function.legacyInterrupt() else { return nil }
        return interrupt.descriptor
    }

    public func enableReceiveInterrupt(queue: Int) {
        guard queue == 0, let queues = receiveQueues, let interrupt = function.legacyInterrupt() else { return }
        interrupt.drain()
        _ = transport.readISR()
        interrupt.rearm()
        queues[0].ring.enableUsedNotifications()
    }

    public func disableReceiveInterrupt(queue: Int) {
        guard queue == 0, let queues = receiveQueues, let interrupt = function.legacyInterrupt() else { return }
        queues[0].ring.disableUsedNotifications()
        _ = transport.readISR()
        interrupt.drain()
    }
}
