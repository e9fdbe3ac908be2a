import CPlatform
import NetDevice
import Packets

extension VirtioNetDevice {
    /// Takes up to `packets.count` frames off receive queue `queue`, then
    /// refills the ring in one batch (one avail.idx store, at most one
    /// doorbell) once enough descriptors are free.
    public func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard isStarted, queue >= 0, queue < receiveQueueCount, let queues = receiveQueues, !packets.isEmpty else { return 0 }
        let q = queues + queue
        let deviceIndex = q.pointee.ring.deviceUsedIndex()
        let headerSize = self.headerSize
        let headroom = q.pointee.headroom
        var count = 0
        var bytes = 0
        while count < packets.count && q.pointee.ring.lastUsedIndex != deviceIndex {
            let position = q.pointee.ring.lastUsedIndex
            let entry = q.pointee.ring.usedEntry(position)
            guard let first = q.pointee.ring.owner(of: entry.id) else {
                q.pointee.ring.lastUsedIndex &+= 1
                q.pointee.ring.counters.errors &+= 1
                continue
            }
            let netHeader = first.pointee.bufferAddress + (headroom &- headerSize)
            var buffers = 1
            if mergeable {
                buffers = Int(UInt16(littleEndian: netHeader.load(fromByteOffset: VirtioNetHeader.bufferCount, as: UInt16.self)))
                let pending = Int(deviceIndex &- position)
                if buffers > pending {
                    // Wait for the rest while the device still holds buffers
                    // it could fill; otherwise num_buffers is garbage.
                    let heldByDevice = q.pointee.ring.size &- q.pointee.ring.freeCount &- pending
                    if buffers <= pending &+ heldByDevice { break }
                    buffers = 0
                }
                if buffers == 0 || buffers > q.pointee.ring.size { buffers = 1 }  // garbage: drop this buffer alone below
            }
            let flags = netHeader.load(fromByteOffset: VirtioNetHeader.flags, as: UInt8.self)
            let countValid = !mergeable || Int(UInt16(littleEndian: netHeader.load(fromByteOffset: VirtioNetHeader.bufferCount, as: UInt16.self))) == buffers
            if let packet = assemble(q, at: position, buffers: buffers, headerSize: headerSize, headroom: headroom, valid: countValid) {
                if receiveChecksum {
                    let gsoType = netHeader.load(fromByteOffset: VirtioNetHeader.gsoType, as: UInt8.self)
                    packet.pointee.offloadFlags = VirtioNetHeader.receiveFlags(flags: flags, gsoType: gsoType)
                    if gsoType != VirtioNetHeader.gsoNone { q.pointee.ring.gsoFrames &+= 1 }
                }
                packet.pointee.port = options.portIdentifier
                bytes &+= Int(packet.pointee.packetLength)
                packets[count] = PacketBuffer(header: packet)
                count &+= 1
            } else {
                q.pointee.ring.counters.errors &+= 1
            }
            q.pointee.ring.lastUsedIndex = position &+ UInt16(truncatingIfNeeded: buffers)
        }
        q.pointee.ring.counters.packets &+= UInt64(count)
        q.pointee.ring.counters.bytes &+= UInt64(bytes)
        if q.pointee.ring.freeCount >= Self.refillThreshold { refill(q) }
        return count
    }

    /// Takes the `buffers` used entries from `position` back from the
    /// device and links them into one packet; nil (all freed) when an
    /// entry (or, `valid` false, the frame's num_buffers) is invalid.
    @inline(__always)
    private func assemble(
        _ q: UnsafeMutablePointer<VirtioReceiveQueue>, at position: UInt16, buffers: Int, headerSize: Int, headroom: Int,
        valid countValid: Bool
    ) -> UnsafeMutablePointer<PacketHeader>? {
        var first: UnsafeMutablePointer<PacketHeader>?
        var last: UnsafeMutablePointer<PacketHeader>?
        var total = 0
        var valid = countValid
        for i in 0..<buffers {
            let entry = q.pointee.ring.usedEntry(position &+ UInt16(truncatingIfNeeded: i))
            guard let buffer = q.pointee.ring.owner(of: entry.id) else {
                valid = false
                continue
            }
            q.pointee.ring.slots[entry.id] = nil
            _ = q.pointee.ring.releaseChain(entry.id)
            // The device wrote from the header's start: the net header in the
            // first buffer, frame bytes only in the others.
            // Bytes the posted descriptor covered: header room plus data room.
            let posted = Int(buffer.pointee.bufferLength) &- headroom &+ headerSize
            let length: Int
            if i == 0 {
                length = entry.length &- headerSize
                buffer.pointee.dataOffset = UInt16(truncatingIfNeeded: headroom)
            } else {
                length = entry.length
                buffer.pointee.dataOffset = UInt16(truncatingIfNeeded: headroom &- headerSize)
            }
            if length < 0 || entry.length > posted { valid = false }
            buffer.pointee.dataLength = UInt16(truncatingIfNeeded: max(0, min(length, posted)))
            total &+= Int(buffer.pointee.dataLength)
            if let last {
                last.pointee.next = buffer
            } else {
                first = buffer
            }
            last = buffer
        }
        guard let first else { return nil }
        guard valid else {
            PacketBuffer(header: first).free()
            return nil
        }
        first.pointee.packetLength = UInt32(truncatingIfNeeded: total)
        first.pointee.segmentCount = UInt16(truncatingIfNeeded: buffers)
        return first
    }

    /// Posts fresh buffers on every free descriptor (as many as the pool
    /// gives), then publishes them with one avail.idx store.
    func refill(_ q: UnsafeMutablePointer<VirtioReceiveQueue>) {
        let headerSize = UInt64(self.headerSize)
        var added = 0
        while q.pointee.ring.freeCount > 0 {
            let wanted = min(q.pointee.ring.freeCount, q.pointee.staging.count)
            let staging = UnsafeMutableBufferPointer(rebasing: q.pointee.staging[0..<wanted])
            let got = q.pointee.pool._withUnsafeGuaranteedRef { $0.allocate(into: staging) }
            for i in 0..<got {
                let buffer = staging[i].header
                let id = q.pointee.ring.takeDescriptor()
                let capacity = Int(buffer.pointee.bufferLength) &- Int(buffer.pointee.dataOffset)
                q.pointee.ring.setDescriptor(
                    id, address: buffer.pointee.bufferIOVA &+ UInt64(buffer.pointee.dataOffset) &- headerSize,
                    length: capacity &+ Int(headerSize), flags: SplitVirtqueue.descriptorWrite)
                q.pointee.ring.slots[id] = buffer
                q.pointee.ring.publish(id)
            }
            added &+= got
            if got < wanted {
                q.pointee.ring.counters.noBuffer &+= UInt64(wanted &- got)
                break
            }
        }
        guard added > 0 else { return }
        q.pointee.ring.commitAvail()
        q.pointee.ring.kickIfNeeded()
    }
}
