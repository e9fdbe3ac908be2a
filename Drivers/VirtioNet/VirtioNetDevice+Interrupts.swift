import Logging
import NetDevice
import Platform
import Synchronization

/// How the receive queues signal an idle core (Stack's CoreIdle), chosen
/// on the first ask and kept for the device's life.
enum VirtioReceiveInterrupts {
    /// MSI-X through VFIO: receive queue q (virtqueue 2q) on vector q, each
    /// vector an eventfd; one per queue, so every queue pair has its own.
    case messages([DeviceInterrupt])
    /// INTx (VFIO eventfd or /dev/uioN): one line, so one queue pair only.
    case legacy(DeviceInterrupt)
    case none
}

/// The receive interrupt of an idle core, a used-buffer notification of
/// the core's receive queue (virtio 1.x, 2.7.7):
///
/// - MSI-X (modern transport under VFIO): VFIO_DEVICE_SET_IRQS puts the
///   function's vectors on eventfds, queue_msix_vector (4.1.4.3) routes
///   receive queue q to vector q. Enabling drains the eventfd and turns
///   the queue's notifications on; nothing is masked after a message, so
///   there is no unmask and no ISR read. Disabling turns them off and drains.
/// - INTx otherwise (UIO, the legacy transport, no MSI-X): the device
///   sets ISR bit 0 (4.1.4.5). Enabling reads ISR (a stale cause drops the
///   line), unmasks INTx at the host (vfio-pci/uio masked it when it last
///   fired) and turns notifications on; disabling turns them off, reads
///   ISR (acknowledge) and drains. Only with one queue pair: one line.
///
/// Notifications on: used_event under EVENT_IDX, else the avail flag
/// cleared, then a full barrier; CoreIdle looks at the queue once more.
extension VirtioNetDevice: ReceiveInterrupts {
    public func receiveInterruptDescriptor(queue: Int) -> Int32? {
        switch receiveInterrupts() {
        case .messages(let vectors): queue < vectors.count ? vectors[queue].descriptor : nil
        case .legacy(let interrupt): queue == 0 && receiveQueueCount == 1 ? interrupt.descriptor : nil
        case .none: nil
        }
    }

    public func enableReceiveInterrupt(queue: Int) {
        guard let queues = receiveQueues, queue < receiveQueueCount else { return }
        switch receiveInterrupts() {
        case .messages(let vectors) where queue < vectors.count:
            vectors[queue].drain()
        case .legacy(let interrupt) where queue == 0:
            interrupt.drain()
            _ = transport.readISR()
            interrupt.rearm()
        default:
            return
        }
        queues[queue].ring.enableUsedNotifications()
    }

    public func disableReceiveInterrupt(queue: Int) {
        guard let queues = receiveQueues, queue < receiveQueueCount else { return }
        switch receiveInterrupts() {
        case .messages(let vectors) where queue < vectors.count:
            queues[queue].ring.disableUsedNotifications()
            vectors[queue].drain()
        case .legacy(let interrupt) where queue == 0:
            queues[0].ring.disableUsedNotifications()
            _ = transport.readISR()
            interrupt.drain()
        default:
            return
        }
    }

    /// Which interrupts the receive queues use: MSI-X when the function
    /// offers a vector per receive queue and the device takes them, else
    /// INTx. Set up once (cores ask from their own threads, hence the lock).
    /// VFIO signals one kind at a time: once MSI-X is on, INTx is gone.
    func receiveInterrupts() -> VirtioReceiveInterrupts {
        interruptRoute.withLock { route in
            if let route { return route }
            let count = receiveQueueCount
            guard count > 0 else { return .none }  // before start: ask again once the queues exist
            var made = VirtioReceiveInterrupts.none
            var problem = "the legacy transport (MSI-X would move its device configuration)"
            if !transport.isLegacy {
                do {
                    let vectors = try function.messageInterrupts(count: count)
                    if (0..<count).allSatisfy({ transport.setQueueVector(2 * $0, UInt16($0)) }) {
                        made = .messages(vectors)
                    } else {
                        for queue in 0..<count { _ = transport.setQueueVector(2 * queue, nil) }
                        problem = "the device refused a queue's MSI-X vector (queue_msix_vector read back NO_VECTOR)"
                    }
                } catch {
                    problem = "\(error)"
                }
            }
            if case .none = made, let interrupt = function.legacyInterrupt() { made = .legacy(interrupt) }
            if case .messages = made {} else {
                Self.log.notice("\(function.name): receive interrupts on \(made.kind), not MSI-X: \(problem)")
            }
            route = made
            return made
        }
    }

    /// "msi-x", "intx" or "none" (for reports and tests).
    public var receiveInterruptKind: String { receiveInterrupts().kind }

    static let log = DataplaneLog.logger("dataplane.virtio")
}

extension VirtioReceiveInterrupts {
    var kind: String {
        switch self {
        case .messages: "msi-x"
        case .legacy: "intx"
        case .none: "none"
        }
    }
}
