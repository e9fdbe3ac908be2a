import NetDevice
import Packets
import Testing
import Wire
@testable import VirtioNet

@Suite("virtio-net receive and transmit over the software device model")
struct VirtioDataPathTests {
    @Test func receivesBurstsWithExactContents() throws {
        let harness = try VirtioTestHarness()
        let frames = (0..<200).map { makeTestFrame(60 + $0 * 7 % 1455, seed: $0) }
        // The ring holds 256 buffers: deliver in two rounds with receives between.
        #expect(harness.model.receive(Array(frames[..<150])) == 150)
        var packets = harness.receiveAll(expected: 150)
        #expect(harness.model.receive(Array(frames[150...])) == 50)
        packets += harness.receiveAll(expected: 50)
        #expect(packets.count == 200)
        for (packet, frame) in zip(packets, frames) {
            #expect(packet.contents() == frame)
            #expect(packet.segmentCount == 1)
            #expect(packet.port == 0)
        }
        let statistics = harness.port.statistics()
        #expect(statistics.receivedPackets == 200)
        #expect(statistics.receivedBytes == UInt64(frames.reduce(0) { $0 + $1.count }))
        for packet in packets { packet.free() }
        // Refills kept the ring full.
        #expect(harness.model.posted(0) >= 256 - VirtioNetDevice.refillThreshold)
        harness.port.stop()
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func receiveRefillsInBatches() throws {
        let harness = try VirtioTestHarness()
        let posted = harness.model.posted(0)
        harness.model.receive((0..<10).map { makeTestFrame(64, seed: $0) })
        for packet in harness.receiveAll(expected: 10) { packet.free() }
        // Fewer than the threshold free: nothing reposted yet.
        #expect(harness.model.posted(0) == posted - 10)
        harness.model.receive((0..<30).map { makeTestFrame(64, seed: $0) })
        for packet in harness.receiveAll(expected: 30) { packet.free() }
        #expect(harness.model.posted(0) == posted)
    }

    @Test func transmitsBurstsWithExactContentsAndHeaders() throws {
        let harness = try VirtioTestHarness()
        let frames = (0..<100).map { makeTestFrame(64 + $0 * 13, seed: $0) }
        #expect(harness.send(frames) == 100)
        #expect(harness.model.processTransmit() == 100)
        #expect(harness.model.transmitted.map(\.frame) == frames)
        #expect(harness.model.transmitted.allSatisfy { $0.header == [UInt8](repeating: 0, count: 12) })
        // Completed buffers come back on a later burst (batch reclaim).
        #expect(harness.send([makeTestFrame(60, seed: 1)]) == 1)
        #expect(harness.pool.statistics.inUse <= 256 + 1 + 256)
        let statistics = harness.port.statistics()
        #expect(statistics.transmittedPackets == 101)
        harness.port.stop()
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func aFullTransmitRingTakesAPrefix() throws {
        let harness = try VirtioTestHarness(ringSize: 64)
        let frames = (0..<100).map { makeTestFrame(60, seed: $0) }
        #expect(harness.send(frames) == 64)
        #expect(harness.send(frames) == 0)
        harness.model.processTransmit()
        #expect(harness.send(Array(frames[..<40])) == 40)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.count == 104)
    }

    @Test func packetsWithoutHeadroomUseTheHeaderSlots() throws {
        let harness = try VirtioTestHarness()
        let frame = makeTestFrame(200, seed: 3)
        let packet = harness.pool.allocate()!
        packet.header.pointee.dataOffset = 4  // less headroom than the 12-byte header
        packet.setContents(frame)
        let buffer = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 1)
        defer { buffer.deallocate() }
        buffer[0] = packet
        #expect(harness.port.transmit(queue: 0, buffer) == 1)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.first?.frame == frame)
        #expect(harness.model.transmitted.first?.header == [UInt8](repeating: 0, count: 12))
    }

    @Test func multiSegmentPacketsAreSentAsOneFrame() throws {
        let harness = try VirtioTestHarness()
        let head = harness.pool.allocate()!
        let tail = harness.pool.allocate()!
        head.setContents(makeTestFrame(100, seed: 1))
        tail.setContents([UInt8](repeating: 0xab, count: 50))
        #expect(head.chain(tail))
        let buffer = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 1)
        defer { buffer.deallocate() }
        buffer[0] = head
        #expect(harness.port.transmit(queue: 0, buffer) == 1)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.first?.frame == makeTestFrame(100, seed: 1) + [UInt8](repeating: 0xab, count: 50))
    }

    @Test func doorbellsFollowTheDevicesNoNotifyFlag() throws {
        let harness = try VirtioTestHarness(options: VirtioNetOptions(eventIndex: false))
        let model = harness.model
        model.suppressNotifications = true
        model.publishNotificationSettings()
        for round in 0..<5 {
            harness.send((0..<8).map { makeTestFrame(60, seed: round * 8 + $0) })
            model.processTransmit()
        }
        #expect(model.notifications(1) == 0)
        model.suppressNotifications = false
        model.publishNotificationSettings()
        for round in 0..<5 {
            harness.send((0..<8).map { makeTestFrame(60, seed: $0 + round) })
            model.processTransmit()
        }
        #expect(model.notifications(1) == 5)  // one per burst, not per packet
        #expect(harness.port.statistics().extended["tx_kicks"] == 5)
    }

    @Test func doorbellsFollowAvailEventUnderEventIndex() throws {
        let harness = try VirtioTestHarness(options: VirtioNetOptions(eventIndex: true))
        let model = harness.model
        #expect(model.driverFeatures.contains(.eventIndex))
        model.availEvent = 20  // wake me once avail.idx passes 20
        model.publishNotificationSettings()
        let before = model.notifications(1)
        harness.send((0..<8).map { makeTestFrame(60, seed: $0) })  // avail 0 -> 8
        #expect(model.notifications(1) == before)
        harness.send((0..<16).map { makeTestFrame(60, seed: $0) })  // 8 -> 24 crosses 20
        #expect(model.notifications(1) == before + 1)
        harness.send((0..<4).map { makeTestFrame(60, seed: $0) })  // 24 -> 28: not asked
        #expect(model.notifications(1) == before + 1)
        model.processTransmit()
        #expect(model.transmitted.count == 28)
    }

    @Test func mergeableBuffersCarryFramesLargerThanOneBuffer() throws {
        let harness = try VirtioTestHarness(dataRoom: 512)
        let frames = [makeTestFrame(1514, seed: 9), makeTestFrame(60, seed: 2), makeTestFrame(1000, seed: 4)]
        #expect(harness.model.receive(frames) == 3)
        let packets = harness.receiveAll(expected: 3)
        #expect(packets.count == 3)
        #expect(packets.map { $0.contents() } == frames)
        // (1514 + 12) bytes in buffers of 512 + 12: three segments.
        #expect(packets.map(\.segmentCount) == [3, 1, 2])
        #expect(packets.map(\.packetLength) == [1514, 60, 1000])
        for packet in packets { packet.free() }
        harness.port.stop()
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func withoutMergeableBuffersEachFrameTakesOneBuffer() throws {
        let harness = try VirtioTestHarness(options: VirtioNetOptions(mergeableReceiveBuffers: false))
        #expect(!harness.model.driverFeatures.contains(.mergeableRxBuffers))
        let frames = [makeTestFrame(1514, seed: 1), makeTestFrame(64, seed: 2)]
        #expect(harness.model.receive(frames) == 2)
        let packets = harness.receiveAll(expected: 2)
        #expect(packets.map { $0.contents() } == frames)
        #expect(packets.allSatisfy { $0.segmentCount == 1 })
        for packet in packets { packet.free() }
    }

    @Test func legacyWithoutMergeableBuffersUsesTenByteHeaders() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.legacy = true
        setup.deviceID = 0x1000
        setup.features = VirtioFeatures(rawValue: setup.features.rawValue & 0xffff_ffff)
        let harness = try VirtioTestHarness(setup, options: VirtioNetOptions(mergeableReceiveBuffers: false))
        #expect(harness.port.headerSize == 10)
        let frames = (0..<20).map { makeTestFrame(60 + $0 * 50, seed: $0) }
        #expect(harness.model.receive(frames) == 20)
        let packets = harness.receiveAll(expected: 20)
        #expect(packets.map { $0.contents() } == frames)
        for packet in packets { packet.free() }
        harness.send(frames)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.map(\.frame) == frames)
        #expect(harness.model.transmitted.allSatisfy { $0.header.count == 10 })
    }

    @Test func legacyWithMergeableBuffers() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.legacy = true
        setup.deviceID = 0x1000
        setup.features = VirtioFeatures(rawValue: setup.features.rawValue & 0xffff_ffff)
        let harness = try VirtioTestHarness(setup, dataRoom: 700)
        #expect(harness.port.headerSize == 12)
        let frames = [makeTestFrame(1514, seed: 5)]
        harness.model.receive(frames)
        let packets = harness.receiveAll(expected: 1)
        #expect(packets.map { $0.contents() } == frames)
        #expect(packets.first?.segmentCount == 3)
        for packet in packets { packet.free() }
    }

    @Test func receiveChecksumResultsBecomeOffloadFlags() throws {
        let harness = try VirtioTestHarness(receiveOffloads: [.rxL4ChecksumGood, .rxL4ChecksumNone])
        #expect(harness.model.driverFeatures.contains(.guestCsum))
        harness.model.receive([makeTestFrame(100, seed: 1)], headerFlags: VirtioNetHeader.dataValid)
        harness.model.receive([makeTestFrame(100, seed: 2)], headerFlags: VirtioNetHeader.needsChecksum)
        harness.model.receive([makeTestFrame(100, seed: 3)], headerFlags: 0)
        let packets = harness.receiveAll(expected: 3)
        #expect(packets.map(\.offloadFlags) == [.rxL4ChecksumGood, .rxL4ChecksumNone, []])
        for packet in packets { packet.free() }
    }

    @Test func withoutReceiveChecksumOffloadGuestCsumIsNotTaken() throws {
        let harness = try VirtioTestHarness()
        #expect(!harness.model.driverFeatures.contains(.guestCsum))
        #expect(harness.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_GUEST_CSUM: not taken") })
    }

    /// An IPv4 frame from 10.0.0.2 to 10.0.0.1 with a UDP (17) or TCP (6)
    /// segment whose checksum field is zero.
    static func ipv4Frame(protocol number: UInt8, payload: Int) -> [UInt8] {
        let l4Header = number == 6 ? 20 : 8
        let total = 20 + l4Header + payload
        var frame: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
        frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, number, 0xde, 0xad, 10, 0, 0, 2, 10, 0, 0, 1]
        var l4 = [UInt8](repeating: 0, count: l4Header)
        l4[0] = 0x0f; l4[1] = 0xa0; l4[3] = 9
        if number == 17 { l4[4] = UInt8((8 + payload) >> 8); l4[5] = UInt8((8 + payload) & 0xff) } else { l4[12] = 0x50 }
        frame += l4
        for i in 0..<payload { frame.append(UInt8(truncatingIfNeeded: i * 5 + 1)) }
        return frame
    }

    /// Whether the frame's IPv4 header checksum and, after completing the
    /// device's part (sum from `start`, inverted, at `start + offset`), its
    /// L4 checksum are right.
    static func checksumsValid(_ frame: [UInt8], start: Int, offset: Int) -> (ip: Bool, l4: Bool) {
        func sum(_ bytes: ArraySlice<UInt8>) -> UInt32 { Array(bytes).withUnsafeBytes { InternetChecksum.sum($0) } }
        func fold(_ value: UInt32) -> UInt16 { UInt16(InternetChecksum.fold(UInt64(value))) }
        var completed = frame
        let device = ~fold(sum(frame[start...]))
        completed[start + offset] = UInt8(device >> 8)
        completed[start + offset + 1] = UInt8(device & 0xff)
        let l4Length = UInt32(frame.count - 34)
        let pseudo = sum(frame[26..<34]) + UInt32(frame[23]) + l4Length
        return (fold(sum(frame[14..<34])) == 0xffff, fold(sum(completed[34...]) + pseudo) == 0xffff)
    }

    @Test func transmitChecksumRequestsFillTheHeaderAndSeedThePseudoHeader() throws {
        let harness = try VirtioTestHarness(transmitOffloads: [.txIPChecksum, .txUDPChecksum, .txTCPChecksum])
        #expect(harness.model.driverFeatures.contains(.csum))
        let udp = Self.ipv4Frame(protocol: 17, payload: 51)
        let tcp = Self.ipv4Frame(protocol: 6, payload: 100)
        harness.send([udp]) { packet in
            packet.offloadFlags = [.txIPv4, .txIPChecksum, .txUDPChecksum]
            packet.setHeaderLengths(l2: 14, l3: 20)
        }
        harness.send([tcp]) { packet in
            packet.offloadFlags = [.txIPv4, .txIPChecksum, .txTCPChecksum]
            packet.setHeaderLengths(l2: 14, l3: 20)
        }
        harness.send([udp])  // no request: untouched
        harness.send([makeTestFrame(80, seed: 3)]) { packet in  // not IPv4: sent as it is
            packet.offloadFlags = [.txUDPChecksum]
            packet.setHeaderLengths(l2: 14, l3: 20)
        }
        harness.model.processTransmit()
        let sent = harness.model.transmitted
        // flags, gso, hdr_len(2), gso_size(2), csum_start(2), csum_offset(2), num_buffers(2)
        #expect(sent[0].header == [1, 0, 0, 0, 0, 0, 34, 0, 6, 0, 0, 0])
        #expect(sent[1].header == [1, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0])
        #expect(sent[2].header == [UInt8](repeating: 0, count: 12))
        #expect(sent[3].header == [UInt8](repeating: 0, count: 12))
        #expect(Self.checksumsValid(sent[0].frame, start: 34, offset: 6) == (true, true))
        #expect(Self.checksumsValid(sent[1].frame, start: 34, offset: 16) == (true, true))
        // The seed is the pseudo-header sum, not complemented, by hand:
        // 10.0.0.2 + 10.0.0.1 + protocol + transport length.
        func seed(_ frame: [UInt8], at field: Int) -> UInt32 { UInt32(frame[field]) << 8 | UInt32(frame[field + 1]) }
        #expect(seed(sent[0].frame, at: 34 + 6) == 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + 17 + UInt32(udp.count - 34))
        #expect(seed(sent[1].frame, at: 34 + 16) == 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + 6 + UInt32(tcp.count - 34))
        #expect(sent[2].frame == udp)
        #expect(sent[3].frame == makeTestFrame(80, seed: 3))
    }

    @Test func theIPChecksumIsComputedEvenWithoutVirtioChecksumOffload() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.remove(.csum)
        let harness = try VirtioTestHarness(setup, transmitOffloads: [.txIPChecksum])
        #expect(harness.port.info.transmitOffloads == [.txIPChecksum])
        harness.send([Self.ipv4Frame(protocol: 17, payload: 10)]) { packet in
            packet.offloadFlags = [.txIPv4, .txIPChecksum]
            packet.setHeaderLengths(l2: 14, l3: 20)
        }
        harness.model.processTransmit()
        let sent = harness.model.transmitted[0]
        #expect(sent.header == [UInt8](repeating: 0, count: 12))
        #expect(Self.checksumsValid(sent.frame, start: 34, offset: 6).ip)
    }

    @Test func badUsedEntriesAreCountedNotTrusted() throws {
        let harness = try VirtioTestHarness()
        // A device naming a descriptor id beyond the ring.
        let queue = harness.port.receiveQueues!
        let used = queue.pointee.ring.used
        used.storeBytes(of: UInt32(9999), toByteOffset: 4, as: UInt32.self)
        used.storeBytes(of: UInt32(100), toByteOffset: 8, as: UInt32.self)
        used.storeBytes(of: UInt16(1), toByteOffset: 2, as: UInt16.self)
        #expect(harness.receiveAll(expected: 1).isEmpty)
        #expect(harness.port.statistics().extended["bad_used_entries"] == 1)
        #expect(harness.port.statistics().receiveErrors == 1)
    }

    @Test func aBufferCountTheRingCannotHoldIsDroppedNotWaitedFor() throws {
        let harness = try VirtioTestHarness(ringSize: 64)
        // One frame; then claim it spans 200 buffers (more than the ring).
        harness.model.receive([makeTestFrame(100, seed: 1)])
        let ring = harness.port.receiveQueues!.pointee.ring
        let id = Int(ring.used.load(fromByteOffset: 4, as: UInt32.self))
        let buffer = ring.slots[id]!
        (buffer.pointee.bufferAddress + (128 - 12)).storeBytes(of: UInt16(200).littleEndian, toByteOffset: 10, as: UInt16.self)
        #expect(harness.receiveAll(expected: 1).isEmpty)
        #expect(harness.port.statistics().receiveErrors == 1)
        // 30 of the ring's 64 buffers: more than this one entry, but the
        // device still holds 63, so the driver waits for the rest.
        harness.model.receive([makeTestFrame(100, seed: 2)])
        let next = Int(ring.used.load(fromByteOffset: 4 + 8, as: UInt32.self))
        (ring.slots[next]!.pointee.bufferAddress + (128 - 12)).storeBytes(of: UInt16(30).littleEndian, toByteOffset: 10, as: UInt16.self)
        #expect(harness.receiveAll(expected: 1).isEmpty)
        #expect(harness.port.statistics().receiveErrors == 1)
        // Good frames behind it wait too (the device would fill the rest first).
        #expect(harness.port.statistics().receivedPackets == 0)
    }

    @Test func anEmptyPoolIsCountedAsNoBuffer() throws {
        let harness = try VirtioTestHarness(poolSize: 300)
        // 256 posted at start; take the remaining 44 away.
        var held = [PacketBuffer]()
        while let packet = harness.pool.allocate() { held.append(packet) }
        harness.model.receive((0..<40).map { makeTestFrame(60, seed: $0) })
        let packets = harness.receiveAll(expected: 40)
        #expect(packets.count == 40)
        #expect(harness.port.statistics().receiveNoBuffer > 0)
        for packet in packets + held { packet.free() }
    }
}
