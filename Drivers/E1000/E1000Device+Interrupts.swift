import NetDevice
import Platform

/// The receive interrupt of an idle core (Stack's CoreIdle): INTx through
/// VFIO or UIO, raised by the receive causes (8254x manual 13.4.17-13.4.21):
/// RXT0 (a frame was written back), RXDMT0 and RXO. Enabling clears stale
/// causes by reading ICR, unmasks INTx at the host (vfio-pci/uio masked it
/// when it last fired) and sets IMS, which raises the interrupt at once if
/// a cause came after the ICR read (QEMU's set_ims). Disabling masks
/// everything (IMC), reads ICR to acknowledge and drop the line, and drains
/// the descriptor.
extension E1000Device: ReceiveInterrupts {
    public var receiveInterruptKind: String { "intx" }

    public func receiveInterruptDescriptor(queue: Int) -> Int32? {
        guard queue == 0, let interrupt = backend.legacyInterrupt() else { return nil }
        return interrupt.descriptor
    }

    public func enableReceiveInterrupt(queue: Int) {
        guard let interrupt = backend.legacyInterrupt() else { return }
        interrupt.drain()
        _ = registers.read32(E1000Register.icr)
        interrupt.rearm()
        registers.write32(E1000Register.ims, E1000Interrupt.receive)
    }

    public func disableReceiveInterrupt(queue: Int) {
        guard let interrupt = backend.legacyInterrupt() else { return }
        registers.write32(E1000Register.imc, 0xFFFF_FFFF)
        _ = registers.read32(E1000Register.icr)
        interrupt.drain()
    }
}
