import CPlatform
import NetDevice
import Packets

/// The receive descriptor ring and the buffers armed in it, owned by the
/// core that polls the queue.
///
/// Slots from `nextToCheck` up to `nextToRefill` (wrapping) hold armed
/// buffers; the rest are empty. At least one slot stays empty, so the tail
/// written to RDT (`nextToRefill`) never equals the head while buffers are
/// armed (RDH == RDT means "no buffers" to the device).
final class E1000ReceiveRing {
    let count: Int
    /// Descriptor memory (DMA, hugepage-backed for a PCI device).
    let descriptors: UnsafeMutableRawPointer
    let descriptorsIOVA: UInt64
    let pool: PacketPool
    /// Refill once this many slots are empty (one pool access, one RDT write).
    let refillThreshold: Int
    /// Bytes the device may write into one buffer (RCTL.BSIZE).
    let bufferSize: Int

    /// The armed buffer of each slot.
    private let slots: UnsafeMutablePointer<PacketBuffer?>
    /// Fresh buffers from the pool before they are armed.
    private let scratch: UnsafeMutableBufferPointer<PacketBuffer>
    private var nextToCheck = 0
    private var nextToRefill = 0
    private var emptyCount: Int
    /// A frame spread over several descriptors, until its EOP descriptor.
    private var partialFirst: PacketBuffer?
    private var partialLast: PacketBuffer?
    private var partialBroken = false

    var counters = QueueCounters()
    var errorCounts = E1000ReceiveErrorCounts()

    init(count: Int, descriptors: UnsafeMutableRawPointer, iova: UInt64, pool: PacketPool, bufferSize: Int) {
        self.count = count
        self.descriptors = descriptors
        descriptorsIOVA = iova
        self.pool = pool
        self.bufferSize = bufferSize
        refillThreshold = min(32, count / 4)
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        scratch = .allocate(capacity: count)
        emptyCount = count
        descriptors.initializeMemory(as: UInt8.self, repeating: 0, count: count * E1000Descriptor.size)
    }

    deinit {
        releaseBuffers()
        slots.deallocate()
        scratch.deallocate()
    }

    /// Arms every slot but one; returns how many buffers the pool gave.
    func armAll() -> Int {
        nextToCheck = 0
        nextToRefill = 0
        emptyCount = count
        return refill(limit: count - 1)
    }

    /// The tail to write to RDT.
    var tail: Int { nextToRefill }

    @inline(__always)
    private func descriptor(_ index: Int) -> UnsafeMutableRawPointer {
        descriptors + index &* E1000Descriptor.size
    }

    /// Moves up to `packets.count` received frames into `packets`. Writes
    /// RDT at most once, after re-arming the slots it emptied.
    @inline(__always)
    func receive(into packets: UnsafeMutableBufferPointer<PacketBuffer>, tailRegister: any E1000RegisterAccess) -> Int {
        var received = 0
        var bytes = 0
        while received < packets.count {
            let d = descriptor(nextToCheck)
            let status = E1000ReceiveDescriptor.status(d)
            if status & E1000ReceiveDescriptor.descriptorDone == 0 { break }
            // The rest of the descriptor is read only after DD was seen.
            dp_io_rmb()
            let length = Int(d.load(fromByteOffset: E1000ReceiveDescriptor.lengthOffset, as: UInt16.self))
            let errors = d.load(fromByteOffset: E1000ReceiveDescriptor.errorsOffset, as: UInt8.self)
            let buffer = slots[nextToCheck].unsafelyUnwrapped
            slots[nextToCheck] = nil
            nextToCheck = nextToCheck &+ 1 == count ? 0 : nextToCheck &+ 1
            emptyCount &+= 1

            buffer.header.pointee.dataLength = UInt16(truncatingIfNeeded: min(length, bufferSize))
            buffer.header.pointee.packetLength = UInt32(truncatingIfNeeded: min(length, bufferSize))
            if errors & E1000ReceiveDescriptor.frameErrors != 0 {
                errorCounts.count(errors)
                partialBroken = true
            }
            if status & E1000ReceiveDescriptor.endOfPacket == 0 {
                appendPartial(buffer)
                continue
            }
            var packet = buffer
            if let first = partialFirst {
                appendPartial(buffer)
                packet = first
                partialFirst = nil
                partialLast = nil
            }
            if partialBroken {
                partialBroken = false
                counters.errors &+= 1
                packet.free()
                continue
            }
            if status & E1000ReceiveDescriptor.ignoreChecksum == 0 {
                packet.offloadFlags = Self.checksumFlags(status: status, errors: errors)
            }
            packets[received] = packet
            received &+= 1
            bytes &+= packet.packetLength
        }
        counters.packets &+= UInt64(received)
        counters.bytes &+= UInt64(bytes)
        if emptyCount &- 1 >= refillThreshold, refill(limit: emptyCount &- 1) > 0 {
            // Descriptors are written before the device may read them.
            dp_wmb()
            tailRegister.write32(E1000Register.rdt, UInt32(truncatingIfNeeded: nextToRefill))
        }
        return received
    }

    private func appendPartial(_ buffer: PacketBuffer) {
        if let last = partialLast, let first = partialFirst {
            last.header.pointee.next = buffer.header
            first.header.pointee.segmentCount &+= 1
            first.header.pointee.packetLength &+= UInt32(buffer.length)
            partialLast = buffer
        } else {
            partialFirst = buffer
            partialLast = buffer
        }
    }

    static func checksumFlags(status: UInt8, errors: UInt8) -> OffloadFlags {
        var flags: OffloadFlags = []
        if status & E1000ReceiveDescriptor.ipChecksumChecked != 0 {
            flags.insert(errors & E1000ReceiveDescriptor.ipChecksumError != 0 ? .rxIPChecksumBad : .rxIPChecksumGood)
        }
        if status & E1000ReceiveDescriptor.tcpChecksumChecked != 0 {
            flags.insert(errors & E1000ReceiveDescriptor.tcpChecksumError != 0 ? .rxL4ChecksumBad : .rxL4ChecksumGood)
        }
        return flags
    }

    /// Arms up to `limit` empty slots with fresh buffers in one pool access.
    @inline(__always)
    private func refill(limit: Int) -> Int {
        let got = pool.allocate(into: UnsafeMutableBufferPointer(rebasing: scratch[0..<limit]))
        if got < limit { counters.noBuffer &+= UInt64(limit &- got) }
        var index = nextToRefill
        for i in 0..<got {
            let buffer = scratch[i]
            slots[index] = buffer
            E1000ReceiveDescriptor.arm(descriptor(index), bufferIOVA: buffer.dataIOVA)
            index = index &+ 1 == count ? 0 : index &+ 1
        }
        nextToRefill = index
        emptyCount &-= got
        return got
    }

    /// Returns every buffer (armed or half a frame) to its pool. The device
    /// must be stopped.
    func releaseBuffers() {
        for index in 0..<count {
            if let buffer = slots[index] {
                buffer.free()
                slots[index] = nil
            }
        }
        partialFirst?.free()
        partialFirst = nil
        partialLast = nil
        partialBroken = false
        emptyCount = count
        nextToCheck = 0
        nextToRefill = 0
    }
}

/// Receive descriptors with frame errors, by kind.
struct E1000ReceiveErrorCounts {
    var crc: UInt64 = 0
    var symbol: UInt64 = 0
    var sequence: UInt64 = 0
    var carrierExtension: UInt64 = 0
    var data: UInt64 = 0

    mutating func count(_ errors: UInt8) {
        if errors & E1000ReceiveDescriptor.crcError != 0 { crc &+= 1 }
        if errors & E1000ReceiveDescriptor.symbolError != 0 { symbol &+= 1 }
        if errors & E1000ReceiveDescriptor.sequenceError != 0 { sequence &+= 1 }
        if errors & E1000ReceiveDescriptor.carrierExtensionError != 0 { carrierExtension &+= 1 }
        if errors & E1000ReceiveDescriptor.dataError != 0 { data &+= 1 }
    }

    var named: [String: UInt64] {
        ["rx_desc_crc_errors": crc, "rx_desc_symbol_errors": symbol, "rx_desc_sequence_errors": sequence,
         "rx_desc_carrier_extension_errors": carrierExtension, "rx_desc_data_errors": data]
    }
}
