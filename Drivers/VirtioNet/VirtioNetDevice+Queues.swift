import CPlatform
import NetDevice
import Packets
import Platform

extension VirtioNetDevice {
    // MARK: Queues and their DMA memory

    /// Area lengths in order: rx rings, tx rings, tx header slots, control
    /// ring, control buffer.
    func memoryPlan() -> (lengths: [Int], requestSize: Int) {
        var lengths = [Int]()
        let receiveLayout = SplitVirtqueueLayout(size: receiveRingSize)
        let transmitLayout = SplitVirtqueueLayout(size: transmitRingSize)
        for _ in 0..<queuePairs { lengths.append(receiveLayout.totalSize) }
        for _ in 0..<queuePairs { lengths.append(transmitLayout.totalSize) }
        for _ in 0..<queuePairs { lengths.append(roundUp(transmitRingSize * 16, 4096)) }
        lengths.append(SplitVirtqueueLayout(size: controlRingSize).totalSize)
        lengths.append(VirtioControlQueue.bufferSize)
        let total = lengths.reduce(0, +)
        // Room to push areas past page boundaries (hugepages: 2 MiB).
        return (lengths, total + max(total, 2 << 20))
    }

    /// Offsets for `lengths`, each 4 KiB aligned and, when IOVAs are
    /// physical, inside one page (physically contiguous).
    static func place(_ lengths: [Int], in memory: DMAMemory) -> [Int]? {
        var offsets = [Int]()
        var cursor = 0
        for length in lengths {
            var offset = roundUp(cursor, 4096)
            if memory.iovaMode == .physical && !memory.isPhysicallyContiguous(offset: offset, length: length) {
                guard length <= memory.pageSize else { return nil }
                offset = roundUp(offset + 1, memory.pageSize)
            }
            guard offset + length <= memory.size else { return nil }
            offsets.append(offset)
            cursor = offset + length
        }
        return offsets
    }

    var controlRingSize: Int {
        // Legacy queues have the device's size; modern ones take 64 or less.
        let maximum = transport.maximumQueueSize(controlQueueIndex)
        return transport.isLegacy ? maximum : min(64, maximum)
    }

    /// The control queue follows the data queues of all possible pairs.
    var controlQueueIndex: Int { 2 * maximumQueuePairs }

    func setUpQueues(_ configuration: PortConfiguration, memory: DMAMemory) throws(DeviceError) {
        let plan = memoryPlan()
        let offsets = Self.place(plan.lengths, in: memory)!
        let receiveLayout = SplitVirtqueueLayout(size: receiveRingSize)
        let transmitLayout = SplitVirtqueueLayout(size: transmitRingSize)
        let eventIndex = negotiatedFeatures.contains(.eventIndex)

        func ring(_ index: Int, _ layout: SplitVirtqueueLayout, offset: Int) throws(DeviceError) -> SplitVirtqueue {
            let maximum = transport.maximumQueueSize(index)
            guard maximum > 0 else {
                throw DeviceError(.deviceFailed, "\(function.name): virtqueue \(index) has size 0 (it does not exist); \(queuePairs) queue pairs need \(2 * queuePairs) queues")
            }
            try transport.activateQueue(index, size: layout.size, layout: layout, baseIOVA: memory.iova(atOffset: offset))
            let slots = UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>?>.allocate(capacity: layout.size)
            return SplitVirtqueue(index: index, layout: layout, area: memory.base + offset, slots: slots,
                                  notifier: try transport.notifier(forQueue: index), eventIndex: eventIndex)
        }

        let receive = UnsafeMutablePointer<VirtioReceiveQueue>.allocate(capacity: queuePairs)
        let transmit = UnsafeMutablePointer<VirtioTransmitQueue>.allocate(capacity: queuePairs)
        var madeReceive = 0
        var madeTransmit = 0
        defer {
            // Partial set-up: keep what was made so that releaseQueues frees it.
            if madeReceive < queuePairs || madeTransmit < queuePairs {
                receiveQueueCount = madeReceive
                transmitQueueCount = madeTransmit
            }
        }
        receiveQueues = receive
        transmitQueues = transmit
        receiveQueueCount = 0
        transmitQueueCount = 0
        for pair in 0..<queuePairs {
            let pool = configuration.receivePools[pair % configuration.receivePools.count]
            let rx = try ring(2 * pair, receiveLayout, offset: offsets[pair])
            (receive + pair).initialize(to: VirtioReceiveQueue(
                ring: rx, pool: Unmanaged.passUnretained(pool), headroom: pool.headroom,
                staging: .allocate(capacity: Self.stagingSize)))
            madeReceive += 1
            let tx = try ring(2 * pair + 1, transmitLayout, offset: offsets[queuePairs + pair])
            let headerOffset = offsets[2 * queuePairs + pair]
            (transmit + pair).initialize(to: VirtioTransmitQueue(
                ring: tx, headers: memory.base + headerOffset, headersIOVA: memory.iova(atOffset: headerOffset),
                staging: .allocate(capacity: Self.stagingSize)))
            madeTransmit += 1
        }
        receiveQueueCount = queuePairs
        transmitQueueCount = queuePairs
        if negotiatedFeatures.contains(.ctrlVQ) {
            let controlLayout = SplitVirtqueueLayout(size: controlRingSize)
            let ring = try ring(controlQueueIndex, controlLayout, offset: offsets[3 * queuePairs])
            let bufferOffset = offsets[3 * queuePairs + 1]
            control = VirtioControlQueue(ring: ring, buffer: memory.base + bufferOffset, bufferIOVA: memory.iova(atOffset: bufferOffset))
        }
        // Receive buffers go in before DRIVER_OK, so the device has room at once.
        for pair in 0..<queuePairs { refill(receive + pair) }
    }

    /// Frees the buffers the rings hold and the rings' bookkeeping (after a reset).
    func releaseQueues() {
        let live = liveStatistics()
        if let receive = receiveQueues {
            for pair in 0..<receiveQueueCount {
                receive[pair].ring.releaseAllPackets()
                receive[pair].ring.slots.deallocate()
                receive[pair].staging.deallocate()
            }
            receive.deinitialize(count: receiveQueueCount)
            receive.deallocate()
        }
        if let transmit = transmitQueues {
            for pair in 0..<transmitQueueCount {
                transmit[pair].ring.releaseAllPackets()
                transmit[pair].ring.slots.deallocate()
                transmit[pair].staging.deallocate()
            }
            transmit.deinitialize(count: transmitQueueCount)
            transmit.deallocate()
        }
        if let control { control.ring.slots.deallocate() }
        // Counters of the stopped queues stay in the totals.
        retiredStatistics += live
        receiveQueues = nil
        transmitQueues = nil
        control = nil
        receiveQueueCount = 0
        transmitQueueCount = 0
    }
}
