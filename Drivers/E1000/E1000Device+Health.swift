import NetDevice

/// Link state and removal (DeviceHealthMonitoring), polled from the core.
///
/// Link: STATUS.LU (8254x SDM 13.4.2). The link-status-change cause
/// ICR.LSC (13.4.17) says the same thing, but ICR is read-to-clear and the
/// idle core's receive interrupt arming reads it too (E1000Device+Interrupts),
/// so the check reads STATUS, which has no side effect. QEMU clears LU on
/// `set_link off`, holds frames for the guest until `on` and raises LU again
/// after its autonegotiation delay; nothing in the rings needs redoing.
///
/// Removal: a PCI read of a function that is gone completes with all ones
/// (a master abort), so STATUS = 0xFFFFFFFF, a value the device never shows
/// (reserved bits). Under VFIO the kernel first asks for the device back
/// (its request eventfd) and waits for the process to let go; under UIO the
/// function's sysfs entry vanishes. Either way the driver stops, frees the
/// buffers its rings held, releases the device (so the kernel's removal can
/// finish) and reports `.removed` from then on.
extension E1000Device: DeviceHealthMonitoring {
    public func checkHealth() -> DeviceHealth {
        if let removalReason { return .removed(removalReason) }
        if backend.removalRequested() {
            return giveUp("the system asked for the device back (hot unplug)")
        }
        let status = registers.read32(E1000Register.status)
        if status == 0xFFFF_FFFF {
            return giveUp("registers read all-ones (the device is no longer on the bus)")
        }
        return .running(linkStatus())
    }

    private func giveUp(_ reason: String) -> DeviceHealth {
        removalReason = reason
        close()
        return .removed(reason)
    }
}
