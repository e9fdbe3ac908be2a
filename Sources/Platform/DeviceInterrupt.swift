import CPlatform
import Glibc

/// A PCI function's legacy interrupt (INTx) as a descriptor that becomes
/// readable when it fires: under VFIO an eventfd that VFIO_DEVICE_SET_IRQS
/// signals (vfio-pci masks INTx each time it fires, so it is unmasked
/// again before each wait); under uio_pci_generic /dev/uioN itself (the
/// kernel disables INTx in the command register when it fires; writing 1
/// re-enables it, and reading gives the count). For a driver's receive
/// interrupt: the device's own mask register says which causes raise it.
public final class DeviceInterrupt {
    public let descriptor: Int32
    private let unmask: () -> Void
    private let countSize: Int
    private let owned: Bool

    init(descriptor: Int32, countSize: Int, owned: Bool, unmask: @escaping () -> Void) {
        self.descriptor = descriptor
        self.countSize = countSize
        self.owned = owned
        self.unmask = unmask
    }

    deinit { if owned { Glibc.close(descriptor) } }

    /// Lets the interrupt fire again (before a wait).
    public func rearm() { unmask() }

    /// Takes what fired (non-blocking; nothing when nothing did).
    public func drain() {
        var count: UInt64 = 0
        _ = read(descriptor, &count, countSize)
    }

    /// VFIO: an eventfd for INTx.
    static func vfio(deviceFD: Int32, address: PCIAddress) throws(PlatformError) -> DeviceInterrupt {
        let eventFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard eventFD >= 0 else { throw .systemCall("eventfd for the interrupt of \(address)") }
        guard dp_vfio_intx_to_eventfd(deviceFD, eventFD) == 0 else {
            let error = PlatformError.systemCall("VFIO_DEVICE_SET_IRQS (INTx to an eventfd) for \(address)")
            Glibc.close(eventFD)
            throw error
        }
        return DeviceInterrupt(descriptor: eventFD, countSize: 8, owned: true) { _ = dp_vfio_intx_unmask(deviceFD) }
    }

    /// UIO: /dev/uioN, made non-blocking so a drain never waits.
    static func uio(fd: Int32) -> DeviceInterrupt {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return DeviceInterrupt(descriptor: fd, countSize: 4, owned: false) {
            var enable: Int32 = 1
            _ = write(fd, &enable, 4)
        }
    }
}
