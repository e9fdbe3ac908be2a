import CPlatform
import NetDevice
import Packets

extension VirtioNetDevice {
    /// Queues up to `packets.count` packets on transmit queue `queue` (a
    /// prefix; the rest stay the caller's when the ring is full), with one
    /// avail.idx store and at most one doorbell per burst. The virtio-net
    /// header goes into the first segment's headroom, or into a header slot
    /// of the ring when the headroom is too small.
    ///
    /// Checksum offload (`.txTCPChecksum` / `.txUDPChecksum` with header
    /// lengths set): the driver seeds the L4 checksum field with the
    /// pseudo-header sum; the device adds the rest. TCP segmentation
    /// (`.txTCPSegmentation` with `segmentSize` and l4Length set, checksum
    /// asked too) fills gso_type, gso_size and hdr_len (virtio 1.x 5.1.6.2);
    /// a request that cannot be honoured is a counted drop.
    public func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        guard isStarted, queue >= 0, queue < transmitQueueCount, let queues = transmitQueues, !packets.isEmpty else { return 0 }
        let q = queues + queue
        let completed = Int(q.pointee.ring.deviceUsedIndex() &- q.pointee.ring.lastUsedIndex)
        if completed >= Self.reclaimThreshold || (completed > 0 && q.pointee.ring.freeCount < packets.count) {
            reclaim(q)
        }
        let headerSize = self.headerSize
        var sent = 0
        var bytes = 0
        var errors: UInt64 = 0
        while sent < packets.count {
            let packet = packets[sent]
            let segments = Int(packet.header.pointee.segmentCount)
            let inHeadroom = packet.headroom >= headerSize
            let needed = segments &+ (inHeadroom ? 0 : 1)
            if needed > q.pointee.ring.size {
                // Can never fit this ring: taken and dropped, counted.
                packet.free()
                errors &+= 1
                sent &+= 1
                continue
            }
            if needed > q.pointee.ring.freeCount {
                // A chain (TSO: about 33 descriptors) may not fit while
                // completed ones wait below the reclaim threshold.
                if q.pointee.ring.deviceUsedIndex() != q.pointee.ring.lastUsedIndex { reclaim(q) }
                guard needed <= q.pointee.ring.freeCount else { break }
            }
            if packet.header.pointee.offloadFlags.contains(.txTCPSegmentation) && !canSegment(packet.header) {
                packet.free()
                errors &+= 1
                sent &+= 1
                continue
            }
            bytes &+= packet.packetLength
            let head = q.pointee.ring.takeDescriptor()
            let netHeader: UnsafeMutableRawPointer
            var previous = -1
            if inHeadroom {
                netHeader = packet.prepend(headerSize)!
            } else {
                netHeader = q.pointee.headers + head &* 16
                q.pointee.ring.setDescriptor(head, address: q.pointee.headersIOVA &+ UInt64(head &* 16),
                                             length: headerSize, flags: SplitVirtqueue.descriptorNext)
                previous = head
            }
            if writeHeader(netHeader, for: packet.header, size: headerSize) { q.pointee.ring.gsoFrames &+= 1 }
            var segment: UnsafeMutablePointer<PacketHeader>? = packet.header
            while let current = segment {
                let id: Int
                if previous < 0 {
                    id = head
                } else {
                    id = q.pointee.ring.takeDescriptor()
                    q.pointee.ring.setNext(previous, id)
                }
                segment = current.pointee.next
                q.pointee.ring.setDescriptor(
                    id, address: current.pointee.bufferIOVA &+ UInt64(current.pointee.dataOffset),
                    length: Int(current.pointee.dataLength), flags: segment == nil ? 0 : SplitVirtqueue.descriptorNext)
                previous = id
            }
            q.pointee.ring.slots[head] = packet.header
            q.pointee.ring.publish(head)
            sent &+= 1
        }
        if sent > 0 {
            q.pointee.ring.commitAvail()
            q.pointee.ring.kickIfNeeded()
        }
        q.pointee.ring.counters.packets &+= UInt64(sent) &- errors
        q.pointee.ring.counters.bytes &+= UInt64(bytes)
        q.pointee.ring.counters.errors &+= errors
        return sent
    }

    /// True when the header asks the host to cut the frame (TSO/TSO6).
    @inline(__always)
    private func writeHeader(_ header: UnsafeMutableRawPointer, for packet: UnsafeMutablePointer<PacketHeader>, size: Int) -> Bool {
        header.storeBytes(of: 0, as: UInt64.self)
        header.storeBytes(of: 0, toByteOffset: 8, as: UInt16.self)
        if size == VirtioNetHeader.sizeWithBufferCount {
            header.storeBytes(of: 0, toByteOffset: VirtioNetHeader.bufferCount, as: UInt16.self)
        }
        let asked = packet.pointee.offloadFlags
        let flags = asked.intersection(transmitOffloadsInUse.union(.txTCPSegmentation))
        guard !flags.isEmpty, asked.contains(.txIPv6) == flags.contains(.txIPv6) else { return false }
        guard let start = VirtioChecksumOffload.prepare(packet, flags: flags, headerSize: header == packetData(packet) ? size : 0) else {
            return false  // not the IP version asked, or headers not in the first segment: sent as it is
        }
        header.storeBytes(of: VirtioNetHeader.needsChecksum, toByteOffset: VirtioNetHeader.flags, as: UInt8.self)
        header.storeBytes(of: start.checksumStart.littleEndian, toByteOffset: VirtioNetHeader.checksumStart, as: UInt16.self)
        header.storeBytes(of: start.checksumOffset.littleEndian, toByteOffset: VirtioNetHeader.checksumOffset, as: UInt16.self)
        if flags.contains(.txTCPSegmentation) {
            // The pseudo-header seed above includes the whole length, as
            // Linux's GSO (behind QEMU's tap) expects; it redoes it per piece.
            let headers = Int(packet.pointee.l2Length) + Int(packet.pointee.l3Length) + Int(packet.pointee.l4Length)
            let type = flags.contains(.txIPv6) ? VirtioNetHeader.gsoTCPv6 : VirtioNetHeader.gsoTCPv4
            header.storeBytes(of: type, toByteOffset: VirtioNetHeader.gsoType, as: UInt8.self)
            header.storeBytes(of: UInt16(headers).littleEndian, toByteOffset: VirtioNetHeader.headerLength, as: UInt16.self)
            header.storeBytes(of: packet.pointee.segmentSize.littleEndian, toByteOffset: VirtioNetHeader.gsoSize, as: UInt16.self)
            return true
        }
        return false
    }

    /// A TSO request this device can honour: HOST_TSO4 (HOST_TSO6 for an
    /// IPv6 packet) taken, TCP checksum asked, a segment size and the TCP
    /// header length given.
    @inline(__always)
    private func canSegment(_ packet: UnsafeMutablePointer<PacketHeader>) -> Bool {
        let ipv6 = packet.pointee.offloadFlags.contains(.txIPv6)
        return transmitOffloadsInUse.contains(ipv6 ? [.txIPv6, .txTCPSegmentationIPv6] : .txTCPSegmentation)
            && packet.pointee.offloadFlags.contains(.txTCPChecksum)
            && packet.pointee.segmentSize > 0 && packet.pointee.l4Length >= 20
    }

    /// What a port takes as transmit offloads with `features` (offered or
    /// accepted): the IPv4 header checksum always (computed by the driver,
    /// virtio has none), L4 checksums with CSUM, TCP segmentation with
    /// CSUM and HOST_TSO4; over IPv6 too (CSUM is protocol-blind: start and
    /// offset), TCP over IPv6 cut with HOST_TSO6.
    static func transmitOffloads(_ features: VirtioFeatures) -> OffloadFlags {
        guard features.contains(.csum) else { return [.txIPChecksum] }
        var offloads: OffloadFlags = [.txIPv4, .txIPv6, .txIPChecksum, .txTCPChecksum, .txUDPChecksum]
        if features.contains(.hostTSO4) { offloads.insert(.txTCPSegmentation) }
        if features.contains(.hostTSO6) { offloads.insert(.txTCPSegmentationIPv6) }
        return offloads
    }

    @inline(__always)
    private func packetData(_ packet: UnsafeMutablePointer<PacketHeader>) -> UnsafeMutableRawPointer {
        packet.pointee.bufferAddress + Int(packet.pointee.dataOffset)
    }

    /// Frees every packet the device finished with, in bulk.
    func reclaim(_ q: UnsafeMutablePointer<VirtioTransmitQueue>) {
        let deviceIndex = q.pointee.ring.deviceUsedIndex()
        var staged = 0
        while q.pointee.ring.lastUsedIndex != deviceIndex {
            let entry = q.pointee.ring.usedEntry(q.pointee.ring.lastUsedIndex)
            q.pointee.ring.lastUsedIndex &+= 1
            guard let packet = q.pointee.ring.owner(of: entry.id) else { continue }
            q.pointee.ring.slots[entry.id] = nil
            _ = q.pointee.ring.releaseChain(entry.id)
            q.pointee.staging[staged] = PacketBuffer(header: packet)
            staged &+= 1
            if staged == q.pointee.staging.count {
                PacketBuffer.free(q.pointee.staging)
                staged = 0
            }
        }
        if staged > 0 { PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: q.pointee.staging[0..<staged])) }
    }
}
