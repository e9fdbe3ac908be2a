import NetDevice

/// Link state, device resets and removal (DeviceHealthMonitoring), polled
/// from the core that owns the queues.
///
/// Link: VIRTIO_NET_S_LINK_UP in the config space's `status` (virtio 1.0
/// §5.1.4), present when VIRTIO_NET_F_STATUS was negotiated; a change
/// moves `config_generation` (§4.1.4.3) and raises the configuration-change
/// interrupt, which this polled driver does not take: the check reads the
/// field itself. QEMU's `set_link` flips the bit; nothing in the rings
/// needs redoing.
///
/// Reset: the device status register (§2.1) must read what the driver
/// wrote, ending in DRIVER_OK. DEVICE_NEEDS_RESET set (§2.1.1: the device
/// hit an error it cannot recover from), or DRIVER_OK gone (the function
/// was reset under the driver: a PCI function-level reset, another user of
/// the BAR), means the queues are dead: the driver resets the device and
/// runs its whole initialisation again (§3.1) with the same configuration,
/// freeing the buffers the old rings held. Frames in flight are lost; TCP
/// retransmits them. With several queue pairs (one core each) the other
/// cores would be polling rings being rebuilt, so only a one-pair port
/// recovers; a multi-pair port reports the reset as `.removed`.
///
/// Removal: the status register reads 0xFF (all-ones from a function that
/// is gone), or the system asks for the device back (VFIO's request
/// eventfd, UIO's sysfs entry gone): the driver stops and releases the
/// device so the kernel's removal can finish.
extension VirtioNetDevice: DeviceHealthMonitoring {
    public func checkHealth() -> DeviceHealth {
        if let removalReason { return .removed(removalReason) }
        if function.removalRequested() {
            return giveUp("the system asked for the device back (hot unplug)")
        }
        let status = transport.status
        if status == 0xFF {
            return giveUp("the status register reads all-ones (the device is no longer on the bus)")
        }
        // Counted for the report (config_changes): a link flip, an announce request.
        let generation = transport.configGeneration
        if let lastConfigGeneration, generation != lastConfigGeneration { configChanges += 1 }
        lastConfigGeneration = generation
        if isStarted && (status & VirtioDeviceStatus.deviceNeedsReset != 0 || status & VirtioDeviceStatus.driverOK == 0) {
            let what = status & VirtioDeviceStatus.deviceNeedsReset != 0
                ? "DEVICE_NEEDS_RESET (status 0x\(String(status, radix: 16)))"
                : "the device was reset under the driver (status 0x\(String(status, radix: 16)), DRIVER_OK gone)"
            guard queuePairs == 1 else { return giveUp(what + "; a \(queuePairs)-pair port is not recovered in place") }
            stop()
            do {
                try start()
            } catch {
                return giveUp(what + "; re-initialisation failed: \(error)")
            }
            recoveries += 1
            return .recovered(what + "; reset and re-initialised (recovery \(recoveries))")
        }
        return .running(linkStatus())
    }

    private func giveUp(_ reason: String) -> DeviceHealth {
        removalReason = reason
        stop()
        function.releaseDevice()
        return .removed(reason)
    }
}
