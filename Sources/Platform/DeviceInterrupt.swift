import CPlatform
import Glibc

/// A PCI function's legacy interrupt (INTx) as a descriptor that becomes
/// readable when it fires: under VFIO an eventfd that VFIO_DEVICE_SET_IRQS
/// signals (vfio-pci masks INTx each time it fires, so it is unmasked
/// again before each wait); under uio_pci_generic /dev/uioN itself (the
/// kernel sets INTx Disable in the command register when it fires, and
/// reading gives the count). uio_pci_generic has no irqcontrol, so a
/// write to /dev/uioN fails (ENOSYS) and re-enables nothing: the bit is
/// cleared in config space through sysfs `config`, as DPDK's
/// uio_intx_intr_enable does. For a driver's receive interrupt: the
/// device's own mask register says which causes raise it.
/// Immutable once made (a descriptor and how to unmask it), so shareable
/// across threads: each core arms and drains only its own.
public final class DeviceInterrupt: @unchecked Sendable {
    public let descriptor: Int32
    private let unmask: () -> Void
    private let countSize: Int
    private let owned: Bool
    /// Another descriptor the unmask uses (UIO: the config space file), closed with this.
    private let helper: Int32

    init(descriptor: Int32, countSize: Int, owned: Bool, helper: Int32 = -1, unmask: @escaping () -> Void) {
        self.descriptor = descriptor
        self.countSize = countSize
        self.owned = owned
        self.helper = helper
        self.unmask = unmask
    }

    deinit {
        if owned { Glibc.close(descriptor) }
        if helper >= 0 { Glibc.close(helper) }
    }

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

    /// VFIO: MSI-X vectors 0..<count, each to an eventfd of its own. A
    /// message is not masked by vfio-pci once delivered, so arming needs
    /// no system call (the device's own mask, e.g. virtio's used-buffer
    /// notification flag, says when it sends one).
    static func vfioMSIX(deviceFD: Int32, count: Int, address: PCIAddress) throws(PlatformError) -> [DeviceInterrupt] {
        let table = Int(dp_vfio_irq_count(deviceFD, UInt32(DP_VFIO_PCI_MSIX_IRQ_INDEX)))
        guard count > 0, count <= 64, table >= count else {
            throw PlatformError(.unsupported, "\(address) has \(max(table, 0)) MSI-X vectors through VFIO; \(count) wanted")
        }
        var made: [DeviceInterrupt] = []
        for _ in 0..<count {
            let eventFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
            guard eventFD >= 0 else { throw .systemCall("eventfd for an MSI-X vector of \(address)") }
            made.append(DeviceInterrupt(descriptor: eventFD, countSize: 8, owned: true) {})
        }
        let descriptors = made.map(\.descriptor)
        guard dp_vfio_msix_to_eventfds(deviceFD, descriptors, UInt32(count)) == 0 else {
            throw .systemCall("VFIO_DEVICE_SET_IRQS (\(count) MSI-X vectors to eventfds) for \(address)")
        }
        return made
    }

    /// UIO: /dev/uioN, made non-blocking so a drain never waits; unmasking
    /// clears INTx Disable (command register bit 10: bit 2 of byte 5) when set.
    static func uio(fd: Int32, configPath: String, address: PCIAddress) throws(PlatformError) -> DeviceInterrupt {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let config = open(configPath, O_RDWR | O_CLOEXEC)
        guard config >= 0 else { throw .systemCall("open \(configPath) (to re-enable the INTx of \(address))") }
        return DeviceInterrupt(descriptor: fd, countSize: 4, owned: false, helper: config) {
            var high: UInt8 = 0
            guard pread(config, &high, 1, 5) == 1, high & 0x4 != 0 else { return }
            high &= ~0x4
            _ = pwrite(config, &high, 1, 5)
        }
    }
}
