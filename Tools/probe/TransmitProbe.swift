import CPlatform
import Platform
#if canImport(Glibc)
import Glibc
#endif

/// One frame sent through each kind of device, from DMA memory, to prove
/// that the device reads descriptors and data at their IOVAs and writes its
/// completion back: the end-to-end test of the IOVA mode (VA through the
/// emulated IOMMU, PA for UIO and for legacy virtio). The frame goes to the
/// run's own tap, inside its namespace: broadcast, EtherType 0x88b5 (local
/// experimental), 60 bytes.
extension DeviceProbe {
    /// Layout inside the first (physically contiguous) page of `memory`.
    enum Layout {
        static let descriptors = 0
        static let available = 4096
        static let used = 8192
        static let frame = 12288
    }

    static let frameLength = 60

    /// Writes the test frame at `offset`, after `headerLength` zero bytes.
    func writeFrame(_ memory: DMAMemory, at offset: Int, headerLength: Int) -> Int {
        let bytes = memory.base + offset
        memset(bytes, 0, headerLength + Self.frameLength)
        let frame = bytes + headerLength
        for index in 0..<6 { frame.storeBytes(of: 0xff, toByteOffset: index, as: UInt8.self) }
        for (index, byte) in [0x52, 0x54, 0x00, 0x12, 0x34, 0x99].enumerated() {
            frame.storeBytes(of: UInt8(byte), toByteOffset: 6 + index, as: UInt8.self)
        }
        frame.storeBytes(of: 0x88, toByteOffset: 12, as: UInt8.self)
        frame.storeBytes(of: 0xb5, toByteOffset: 13, as: UInt8.self)
        for (index, byte) in "dp-probe DMA test".utf8.enumerated() {
            frame.storeBytes(of: byte, toByteOffset: 14 + index, as: UInt8.self)
        }
        return headerLength + Self.frameLength
    }

    /// Polls `done` for up to a second.
    func waitFor(_ done: () -> Bool) -> Bool {
        for _ in 0..<1000 {
            if done() { return true }
            usleep(1000)
        }
        return done()
    }

    // MARK: e1000: one legacy transmit descriptor, RS set, wait for DD

    mutating func transmitE1000(_ device: PCIDeviceAccess, _ memory: DMAMemory) throws(PlatformError) {
        let registers = try device.bar(0)
        let ring = memory.base + Layout.descriptors
        memset(ring, 0, 8 * 16)
        let length = writeFrame(memory, at: Layout.frame, headerLength: 0)
        ring.storeBytes(of: memory.iova(atOffset: Layout.frame).littleEndian, toByteOffset: 0, as: UInt64.self)
        ring.storeBytes(of: UInt16(length).littleEndian, toByteOffset: 8, as: UInt16.self)
        ring.storeBytes(of: 0x0b as UInt8, toByteOffset: 11, as: UInt8.self)  // EOP | IFCS | RS
        let ringIOVA = memory.iova(atOffset: Layout.descriptors)
        registers.write32(0x3800, UInt32(truncatingIfNeeded: ringIOVA))  // TDBAL
        registers.write32(0x3804, UInt32(truncatingIfNeeded: ringIOVA >> 32))  // TDBAH
        registers.write32(0x3808, 8 * 16)  // TDLEN
        registers.write32(0x3810, 0)  // TDH
        registers.write32(0x3818, 0)  // TDT
        registers.write32(0x0400, 0x2 | 0x8 | (0x0f << 4) | (0x40 << 12))  // TCTL: EN, PSP, CT, COLD
        dp_wmb()
        registers.write32(0x3818, 1)  // TDT: hand over descriptor 0
        let done = waitFor { dp_read8(ring + 12) & 0x1 != 0 }  // status.DD
        let head = registers.read32(0x3810)
        registers.write32(0x0400, 0)
        report("tx", done, "descriptor at IOVA 0x\(String(ringIOVA, radix: 16)) " + (done ? "written back (DD), TDH=\(head)" : "not completed, TDH=\(head)"))
    }

    // MARK: virtio: one buffer on the transmit queue (1), wait for the used ring

    /// Fills descriptor 0 and the available ring; returns the used-index pointer.
    func fillTransmitQueue(_ memory: DMAMemory, available availableOffset: Int, used usedOffset: Int, headerLength: Int) -> UnsafeMutableRawPointer {
        memset(memory.base, 0, Layout.frame)
        let length = writeFrame(memory, at: Layout.frame, headerLength: headerLength)
        let descriptor = memory.base + Layout.descriptors
        descriptor.storeBytes(of: memory.iova(atOffset: Layout.frame).littleEndian, toByteOffset: 0, as: UInt64.self)
        descriptor.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 8, as: UInt32.self)
        let available = memory.base + availableOffset
        available.storeBytes(of: 0 as UInt16, toByteOffset: 4, as: UInt16.self)  // ring[0] = descriptor 0
        dp_wmb()
        available.storeBytes(of: UInt16(1).littleEndian, toByteOffset: 2, as: UInt16.self)  // idx
        return memory.base + usedOffset + 2
    }

    mutating func transmitLegacyVirtio(_ device: PCIDeviceAccess, _ memory: DMAMemory) throws(PlatformError) {
        let registers = try device.bar(0)
        registers.write8(0x12, 0)  // reset
        registers.write8(0x12, 1 | 2)  // ACKNOWLEDGE | DRIVER
        registers.write32(0x04, 0)  // no features: a 10-byte header
        registers.write16(0x0e, 1)  // queue select: transmitq
        let size = Int(registers.read16(0x0c))
        // The legacy layout: used ring 4096-aligned after descriptors and available ring.
        guard size > 0, size <= 256 else { return report("tx", false, "transmit queue size \(size)") }
        let availableOffset = 16 * size
        let usedOffset = (availableOffset + 6 + 2 * size + 4095) / 4096 * 4096
        let used = fillTransmitQueue(memory, available: availableOffset, used: usedOffset, headerLength: 10)
        let queueIOVA = memory.iova(atOffset: Layout.descriptors)
        registers.write32(0x08, UInt32(truncatingIfNeeded: queueIOVA >> 12))  // queue PFN
        registers.write8(0x12, 1 | 2 | 4)  // DRIVER_OK
        dp_wmb()
        registers.write16(0x10, 1)  // notify transmitq
        let done = waitFor { dp_read16(used) != 0 }
        let status = registers.read8(0x12)
        registers.write8(0x12, 0)
        report("tx", done, "queue at IOVA 0x\(String(queueIOVA, radix: 16)) (size \(size)) " + (done ? "used ring written back" : "not completed, status 0x\(String(status, radix: 16))"))
    }

    mutating func transmitModernVirtio(_ device: PCIDeviceAccess, _ memory: DMAMemory) throws(PlatformError) {
        guard let common = try virtioCapability(device, type: 1), let notify = try virtioNotifyCapability(device) else {
            return report("tx", false, "virtio capabilities missing")
        }
        let registers = try device.bar(common.bar)
        let c = common.offset
        registers.write8(c + 0x14, 0)
        _ = waitFor { registers.read8(c + 0x14) == 0 }
        registers.write8(c + 0x14, 1 | 2)
        registers.write32(c + 0x00, 1)
        let offered = registers.read32(c + 0x04)
        // VERSION_1 (32) and, when offered, ACCESS_PLATFORM (33): DMA then goes through the IOMMU.
        registers.write32(c + 0x08, 1)
        registers.write32(c + 0x0c, offered & 0x3)
        registers.write32(c + 0x08, 0)
        registers.write32(c + 0x0c, 0)
        registers.write8(c + 0x14, 1 | 2 | 8)  // FEATURES_OK
        guard registers.read8(c + 0x14) & 8 != 0 else { return report("tx", false, "device refused the features") }
        registers.write16(c + 0x16, 1)  // queue select: transmitq
        var size = Int(registers.read16(c + 0x18))
        if size > 256 { size = 256; registers.write16(c + 0x18, 256) }
        guard size > 0 else { return report("tx", false, "transmit queue size 0") }
        let used = fillTransmitQueue(memory, available: Layout.available, used: Layout.used, headerLength: 12)
        for (offset, part) in [(0x20, Layout.descriptors), (0x28, Layout.available), (0x30, Layout.used)] {
            let iova = memory.iova(atOffset: part)
            registers.write32(c + offset, UInt32(truncatingIfNeeded: iova))
            registers.write32(c + offset + 4, UInt32(truncatingIfNeeded: iova >> 32))
        }
        let notifyOffset = Int(registers.read16(c + 0x1e))
        registers.write16(c + 0x1c, 1)  // queue enable
        registers.write8(c + 0x14, 1 | 2 | 8 | 4)  // DRIVER_OK
        dp_wmb()
        let doorbell = try device.bar(notify.bar)
        doorbell.write16(notify.offset + notifyOffset * notify.multiplier, 1)
        let done = waitFor { dp_read16(used) != 0 }
        let status = registers.read8(c + 0x14)
        registers.write8(c + 0x14, 0)
        let iova = memory.iova(atOffset: Layout.descriptors)
        report("tx", done, "queue at IOVA 0x\(String(iova, radix: 16)) (size \(size), ACCESS_PLATFORM \(offered & 0x2 != 0 ? "on" : "off")) "
            + (done ? "used ring written back" : "not completed, status 0x\(String(status, radix: 16))"))
    }

    /// (bar, offset, notify_off_multiplier) of the virtio notify capability.
    func virtioNotifyCapability(_ device: PCIDeviceAccess) throws(PlatformError) -> (bar: Int, offset: Int, multiplier: Int)? {
        var pointer = Int(try device.readConfig8(0x34) & 0xfc)
        var steps = 0
        while pointer != 0 && steps < 48 {
            steps += 1
            if try device.readConfig8(pointer) == 0x09, try device.readConfig8(pointer + 3) == 2 {
                return (Int(try device.readConfig8(pointer + 4)), Int(try device.readConfig32(pointer + 8)),
                        Int(try device.readConfig32(pointer + 16)))
            }
            pointer = Int(try device.readConfig8(pointer + 1) & 0xfc)
        }
        return nil
    }
}
