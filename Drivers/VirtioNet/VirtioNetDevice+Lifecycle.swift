import CPlatform
import NetDevice
import Packets
import Platform

extension VirtioNetDevice {
    // MARK: Configure

    public func configure(_ configuration: PortConfiguration) throws(DeviceError) {
        guard !isStarted else { throw DeviceError(.wrongState, "configure a virtio port while it is stopped") }
        try configuration.validate(against: info)
        for (what, size) in [("receive", configuration.receiveRingSize), ("transmit", configuration.transmitRingSize)]
        where size & (size - 1) != 0 {
            throw DeviceError(.invalidConfiguration, "\(what) ring size \(size): split virtqueues take powers of two")
        }
        guard configuration.receiveQueues == configuration.transmitQueues else {
            throw DeviceError(.invalidConfiguration,
                "\(configuration.receiveQueues) receive and \(configuration.transmitQueues) transmit queues: virtio-net uses queue pairs, give equal counts")
        }
        let legacyBehindIOMMU = transport.isLegacy && function.isBehindIOMMU
        var mapped = Set<ObjectIdentifier>()
        for pool in configuration.transmitPools {
            if legacyBehindIOMMU && pool.memory.iovaMode != .physical {
                throw DeviceError(.invalidConfiguration,
                    "transmit pool '\(pool.name)' uses IOVA mode \(pool.memory.iovaMode): a legacy virtio device bypasses the IOMMU, so its pools need iovaMode .physical")
            }
            if mapped.insert(ObjectIdentifier(pool.memory)).inserted { try function.mapForDevice(pool.memory) }
        }
        for pool in configuration.receivePools {
            guard pool.headroom >= VirtioNetHeader.sizeWithBufferCount else {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' has \(pool.headroom) bytes of headroom; virtio-net writes its \(VirtioNetHeader.sizeWithBufferCount)-byte header there")
            }
            guard pool.dataRoomSize >= info.maximumFrameLength || offeredFeatures.contains(.mergeableRxBuffers) && options.mergeableReceiveBuffers else {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' buffers hold \(pool.dataRoomSize) bytes, frames may be \(info.maximumFrameLength) and MRG_RXBUF is not in use")
            }
            if legacyBehindIOMMU && pool.memory.iovaMode != .physical {
                throw DeviceError(.invalidConfiguration,
                    "pool '\(pool.name)' uses IOVA mode \(pool.memory.iovaMode): a legacy virtio device bypasses the IOMMU, so its pools need iovaMode .physical")
            }
            if mapped.insert(ObjectIdentifier(pool.memory)).inserted {
                try function.mapForDevice(pool.memory)
            }
        }
        queuePairs = configuration.receiveQueues
        receiveRingSize = configuration.receiveRingSize
        transmitRingSize = configuration.transmitRingSize
        promiscuous = configuration.promiscuous
        receiveSideScaling = configuration.receiveSideScaling

        // One DMA region for every ring, transmit header slots and the
        // control buffer.
        let plan = memoryPlan()
        let memory = try function.dmaMemory(size: plan.requestSize, iovaMode: legacyBehindIOMMU ? .physical : nil)
        guard Self.place(plan.lengths, in: memory) != nil else {
            throw DeviceError(.invalidConfiguration, "virtio rings of \(plan.lengths.reduce(0, +)) bytes do not fit \(memory.size) bytes of DMA memory in whole pages")
        }
        ringMemory = memory
        self.configuration = configuration
    }

    // MARK: Start and stop

    public func start() throws(DeviceError) {
        guard let configuration, let memory = ringMemory else {
            throw DeviceError(.wrongState, "start a virtio port after configure")
        }
        guard !isStarted else { return }
        do throws(DeviceError) {
            try function.enableBusMaster()
            try transport.reset()
            transport.addStatus(VirtioDeviceStatus.acknowledge)
            transport.addStatus(VirtioDeviceStatus.driver)
            try negotiateFeatures(for: configuration)
            try setUpQueues(configuration, memory: memory)
            transport.addStatus(VirtioDeviceStatus.driverOK)
            guard transport.status & VirtioDeviceStatus.deviceNeedsReset == 0 else {
                throw DeviceError(.deviceFailed, "\(function.name) set DEVICE_NEEDS_RESET after DRIVER_OK")
            }
            isStarted = true
            try sendStartCommands()
        } catch {
            isStarted = false
            Self.fail(transport)
            releaseQueues()
            throw error
        }
    }

    public func stop() {
        guard receiveQueues != nil || transmitQueues != nil else { return }
        // The reset stops the device touching the rings; then the buffers
        // it held are ours to free.
        try? transport.reset()
        isStarted = false
        releaseQueues()
    }

    /// Feature negotiation (virtio 1.x 3.1.1 steps 4-6): the driver's
    /// features, FEATURES_OK (modern only), and the state that follows
    /// from what was accepted.
    private func negotiateFeatures(for configuration: PortConfiguration) throws(DeviceError) {
        let offered = transport.deviceFeatures()
        let negotiation = try VirtioFeatureNegotiation(offered: offered, request: .init(
            isLegacy: transport.isLegacy, behindIOMMU: function.isBehindIOMMU, queuePairs: queuePairs,
            transmitChecksum: !configuration.transmitOffloads.intersection(.txL4Checksum).isEmpty,
            receiveChecksum: !configuration.receiveOffloads.intersection([.rxL4ChecksumGood, .rxL4ChecksumNone]).isEmpty,
            receiveCoalescing: configuration.receiveOffloads.contains(.rxTCPCoalesced),
            receiveSideScaling: configuration.receiveSideScaling != nil, options: options,
            transmitSegmentation: configuration.transmitOffloads.contains(.txTCPSegmentation),
            transmitSegmentationIPv6: configuration.transmitOffloads.contains(.txTCPSegmentationIPv6)))
        transport.setDriverFeatures(negotiation.accepted)
        if !transport.isLegacy {
            transport.addStatus(VirtioDeviceStatus.featuresOK)
            guard transport.status & VirtioDeviceStatus.featuresOK != 0 else {
                throw DeviceError(.unsupported,
                    "\(function.name) refused the features \(negotiation.accepted) (FEATURES_OK did not stick); offered: \(offered)")
            }
        }
        negotiatedFeatures = negotiation.accepted
        info.notes = ["transport: \(transport.name)"] + negotiation.notes
        headerSize = negotiation.headerSize
        mergeable = negotiation.accepted.contains(.mergeableRxBuffers)
        receiveChecksum = negotiation.accepted.contains(.guestCsum)
        receiveCoalescing = negotiation.accepted.contains(.guestTSO4)
        transmitChecksum = negotiation.accepted.contains(.csum)
        transmitOffloadsInUse = configuration.transmitOffloads.intersection(Self.transmitOffloads(negotiation.accepted))
        if negotiation.accepted.contains(.mtu) {
            info.mtu = Int(transport.readDeviceConfig16(VirtioNetConfig.mtu))
            info.maximumFrameLength = info.mtu + 14
        }
    }

    /// Commands for the control queue once DRIVER_OK is set: the queue
    /// pairs in use and the receive mode asked for before start.
    private func sendStartCommands() throws(DeviceError) {
        if let receiveSideScaling, negotiatedFeatures.contains(.rss) {
            // RSS_CONFIG sets the queues in use too (its max_tx_vq), instead of VQ_PAIRS_SET.
            let payload = try VirtioRSSConfiguration.payload(
                receiveSideScaling, queuePairs: queuePairs,
                maximumKeySize: Int(transport.readDeviceConfig8(VirtioNetConfig.rssMaxKeySize)),
                maximumTableLength: Int(transport.readDeviceConfig16(VirtioNetConfig.rssMaxIndirectionTableLength)),
                supportedHashTypes: transport.readDeviceConfig32(VirtioNetConfig.supportedHashTypes))
            try sendControl(.multiqueue, VirtioRSSConfiguration.command, payload: payload)
        } else if queuePairs > 1 {
            try sendControl(.multiqueue, VirtioControlQueue.multiqueuePairsSet,
                            payload: [UInt8(truncatingIfNeeded: queuePairs), UInt8(truncatingIfNeeded: queuePairs >> 8)])
        }
        if negotiatedFeatures.contains(.ctrlRx) {
            try sendControl(.rx, VirtioControlQueue.rxPromiscuous, payload: [promiscuous ? 1 : 0])
            if allMulticast { try sendControl(.rx, VirtioControlQueue.rxAllMulticast, payload: [1]) }
        } else if promiscuous {
            info.notes.append("promiscuous mode requested but VIRTIO_NET_F_CTRL_RX is not available (QEMU's default is promiscuous)")
        }
    }
}
