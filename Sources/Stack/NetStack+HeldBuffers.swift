import Packets

// How many pool buffers the stack holds, for the leak checks of the fuzz
// targets and the exhaustion tests: with the devices' rings drained, a
// pool's buffers in use must equal this (Docs/ROBUSTNESS.md). It walks the
// tables, so call it between steps, never per packet.
extension NetStack {
    /// Pool buffers (every segment of a chain) the stack holds now: frames
    /// batched for transmit, fragments being reassembled, packets waiting
    /// for ARP, datagrams queued on UDP endpoints.
    public var heldBuffers: Int {
        var total = 0
        for interface in interfaces {
            for i in 0..<interface.batchCount { total += interface.batch[i].segmentCount }
        }
        return total + reassembler.heldBuffers() + arp.heldBuffers() + udp.heldBuffers()
    }
}

extension ARPCache {
    func heldBuffers() -> Int {
        var total = 0
        for i in 0..<capacity {
            for j in 0..<entries[i].pendingCount { total += entries[i].pending[j].segmentCount }
        }
        return total
    }
}

extension UDPTable {
    func heldBuffers() -> Int {
        var total = 0
        for i in 0..<allocated where entries[i].inUse {
            for k in 0..<entries[i].count {
                total += entries[i].queue[(entries[i].head + k) % queueCapacity].segmentCount
            }
        }
        return total
    }
}
