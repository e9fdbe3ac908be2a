import NetDevice

extension VirtioNetDevice {
    // MARK: Link and statistics

    public func linkStatus() -> LinkStatus {
        guard removalReason == nil else { return LinkStatus(isUp: false) }
        let features = isStarted ? negotiatedFeatures : offeredFeatures
        guard features.contains(.status) else { return LinkStatus(isUp: true, speedMbps: 10_000) }
        let up = transport.readDeviceConfig16(VirtioNetConfig.status) & VirtioNetConfig.statusLinkUp != 0
        return LinkStatus(isUp: up, speedMbps: up ? 10_000 : 0)
    }

    /// Counters since start or the last reset: those of queues stopped
    /// before plus the live ones, less the values at the last reset. The
    /// queues' own counters are only written by their cores.
    public func statistics() -> PortStatistics {
        var total = retiredStatistics
        total += liveStatistics()
        var result = total.subtracting(zeroPoint)
        result.extended["device_resets_recovered"] = recoveries
        result.extended["config_changes"] = configChanges
        return result
    }

    public func resetStatistics() {
        var total = retiredStatistics
        total += liveStatistics()
        zeroPoint = total
    }

    func liveStatistics() -> PortStatistics {
        var total = PortStatistics()
        var receiveKicks: UInt64 = 0, transmitKicks: UInt64 = 0, bad: UInt64 = 0
        var coalesced: UInt64 = 0, segmented: UInt64 = 0
        if let receive = receiveQueues {
            for pair in 0..<receiveQueueCount {
                let ring = receive[pair].ring
                total.receivedPackets += ring.counters.packets
                total.receivedBytes += ring.counters.bytes
                total.receiveErrors += ring.counters.errors
                total.receiveNoBuffer += ring.counters.noBuffer
                receiveKicks += ring.kicks
                bad += ring.badUsedEntries
                coalesced += ring.gsoFrames
            }
        }
        if let transmit = transmitQueues {
            for pair in 0..<transmitQueueCount {
                let ring = transmit[pair].ring
                total.transmittedPackets += ring.counters.packets
                total.transmittedBytes += ring.counters.bytes
                total.transmitErrors += ring.counters.errors
                transmitKicks += ring.kicks
                bad += ring.badUsedEntries
                segmented += ring.gsoFrames
            }
        }
        // rx_gso_frames: coalesced frames from the host (GUEST_TSO4/6);
        // tx_gso_frames: frames sent for the host to cut (HOST_TSO4/6).
        total.extended = ["rx_kicks": receiveKicks, "tx_kicks": transmitKicks, "bad_used_entries": bad,
                          "rx_gso_frames": coalesced, "tx_gso_frames": segmented]
        return total
    }
}

extension PortStatistics {
    func subtracting(_ other: PortStatistics) -> PortStatistics {
        var result = self
        result.receivedPackets &-= other.receivedPackets
        result.receivedBytes &-= other.receivedBytes
        result.transmittedPackets &-= other.transmittedPackets
        result.transmittedBytes &-= other.transmittedBytes
        result.receiveMissed &-= other.receiveMissed
        result.receiveErrors &-= other.receiveErrors
        result.transmitErrors &-= other.transmitErrors
        result.receiveNoBuffer &-= other.receiveNoBuffer
        for (key, value) in other.extended { result.extended[key, default: 0] &-= value }
        return result
    }
}
