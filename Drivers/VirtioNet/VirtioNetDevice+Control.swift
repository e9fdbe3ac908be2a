import NetDevice
import Wire

extension VirtioNetDevice {
    // MARK: Control

    func sendControl(_ commandClass: VirtioControlQueue.Class, _ command: UInt8, payload: [UInt8]) throws(DeviceError) {
        guard control != nil else {
            throw DeviceError(.unsupported, "\(function.name): no control queue (VIRTIO_NET_F_CTRL_VQ not negotiated)")
        }
        try control!.send(commandClass, command, payload: payload, timeout: options.controlTimeout)
    }

    public func setPromiscuous(_ enabled: Bool) throws(DeviceError) {
        guard isStarted else { promiscuous = enabled; return }
        guard negotiatedFeatures.contains(.ctrlRx) else {
            throw DeviceError(.unsupported, "\(function.name): promiscuous mode needs VIRTIO_NET_F_CTRL_RX, which is not negotiated")
        }
        try sendControl(.rx, VirtioControlQueue.rxPromiscuous, payload: [enabled ? 1 : 0])
        promiscuous = enabled
    }

    public func setAllMulticast(_ enabled: Bool) throws(DeviceError) {
        guard isStarted else { allMulticast = enabled; return }
        guard negotiatedFeatures.contains(.ctrlRx) else {
            throw DeviceError(.unsupported, "\(function.name): all-multicast needs VIRTIO_NET_F_CTRL_RX, which is not negotiated")
        }
        try sendControl(.rx, VirtioControlQueue.rxAllMulticast, payload: [enabled ? 1 : 0])
        allMulticast = enabled
    }

    public func setMACAddress(_ address: MACAddress) throws(DeviceError) {
        guard isStarted, negotiatedFeatures.contains(.ctrlMACAddress) else {
            throw DeviceError(.unsupported,
                "\(function.name): changing the MAC address needs a started port with VIRTIO_NET_F_CTRL_MAC_ADDR (\(isStarted ? "not negotiated" : "port not started"))")
        }
        try sendControl(.mac, VirtioControlQueue.macAddressSet, payload: [address.bytes.0, address.bytes.1, address.bytes.2, address.bytes.3, address.bytes.4, address.bytes.5])
        macAddress = address
    }
}
