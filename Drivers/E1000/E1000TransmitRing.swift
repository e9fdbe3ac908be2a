import CPlatform
import NetDevice
import Packets

/// The transmit descriptor ring, owned by the core that transmits on it.
///
/// Each packet takes one data descriptor per segment (EOP on the last) and,
/// when its checksum layout differs from the last one, a context descriptor
/// first; a TSO packet always has its own context (PAYLEN, HDRLEN, MSS)
/// and TSE on every data descriptor. RS is set on a packet's last descriptor once `reportThreshold`
/// descriptors went by without one; completed buffers are freed in batches
/// when the device has written DD back to such a descriptor.
final class E1000TransmitRing {
    let count: Int
    let descriptors: UnsafeMutableRawPointer
    let descriptorsIOVA: UInt64
    let reportThreshold: Int
    let maximumFrameLength: Int
    /// More segments than this cannot be sent (the ring would never free
    /// enough descriptors at once).
    let maximumSegments: Int

    /// The packet whose EOP descriptor is in each slot (nil elsewhere).
    private let slots: UnsafeMutablePointer<PacketBuffer?>
    /// Indexes of descriptors with RS set, oldest first (a ring of `count`).
    private let reportSlots: UnsafeMutablePointer<Int>
    private var reportHead = 0
    private var reportCount = 0
    /// Packets freed together after completion.
    private let freeBatch: UnsafeMutableBufferPointer<PacketBuffer>
    private var tail = 0
    private var oldest = 0
    private(set) var freeDescriptors: Int
    private var sinceReport = 0
    private var context: E1000ContextDescriptor.Layout?

    var counters = QueueCounters()
    var dropCounts = E1000TransmitDropCounts()

    init(count: Int, descriptors: UnsafeMutableRawPointer, iova: UInt64, maximumFrameLength: Int) {
        self.count = count
        self.descriptors = descriptors
        descriptorsIOVA = iova
        self.maximumFrameLength = maximumFrameLength
        reportThreshold = min(32, count / 4)
        maximumSegments = min(PacketBuffer.maximumSegments, count / 2)
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        reportSlots = .allocate(capacity: count)
        freeBatch = .allocate(capacity: count)
        freeDescriptors = count - 1
        descriptors.initializeMemory(as: UInt8.self, repeating: 0, count: count * E1000Descriptor.size)
    }

    deinit {
        releaseBuffers()
        slots.deallocate()
        reportSlots.deallocate()
        freeBatch.deallocate()
    }

    @inline(__always)
    private func descriptor(_ index: Int) -> UnsafeMutableRawPointer {
        descriptors + index &* E1000Descriptor.size
    }

    @inline(__always)
    private func advance(_ index: Int) -> Int { index &+ 1 == count ? 0 : index &+ 1 }

    /// Frees the packets of every descriptor up to the oldest RS descriptor
    /// the device has marked done, in one pool operation per batch.
    @inline(__always)
    func reclaim() {
        var batch = 0
        while reportCount > 0 {
            let reported = reportSlots[reportHead]
            guard E1000TransmitDescriptor.status(descriptor(reported)) & E1000TransmitDescriptor.descriptorDone != 0 else { break }
            var index = oldest
            while true {
                if let packet = slots[index] {
                    freeBatch[batch] = packet
                    batch &+= 1
                    slots[index] = nil
                }
                freeDescriptors &+= 1
                if index == reported { break }
                index = advance(index)
            }
            oldest = advance(reported)
            reportHead = reportHead &+ 1 == count ? 0 : reportHead &+ 1
            reportCount &-= 1
        }
        if batch > 0 {
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: freeBatch[0..<batch]))
        }
    }

    /// Places a prefix of `packets` in the ring; writes TDT once.
    @inline(__always)
    func transmit(_ packets: UnsafeMutableBufferPointer<PacketBuffer>, tailRegister: any E1000RegisterAccess) -> Int {
        if freeDescriptors < count / 2 {
            reclaim()
        }
        let start = tail
        var taken = 0
        var bytes = 0
        var sent = 0
        while taken < packets.count {
            let packet = packets[taken]
            let segments = packet.segmentCount
            let length = packet.packetLength
            let flags = packet.offloadFlags
            let segmenting = flags.contains(.txTCPSegmentation)
            let longest = segmenting ? Self.largestSegmentedFrame : maximumFrameLength
            if length == 0 || length > longest || segments > maximumSegments {
                dropCounts.count(length: length, maximum: longest, segments: segments)
                drop(packet)
                taken &+= 1
                continue
            }
            var layout = E1000ContextDescriptor.Layout()
            var options: UInt8 = 0
            if segmenting {
                guard E1000ChecksumOffload.prepareSegmentation(packet, layout: &layout, options: &options) else {
                    dropCounts.badOffloadRequest &+= 1
                    drop(packet)
                    taken &+= 1
                    continue
                }
            } else if !flags.isDisjoint(with: E1000TransmitRing.checksumRequests) {
                guard E1000ChecksumOffload.prepare(packet, flags: flags, layout: &layout, options: &options) else {
                    dropCounts.badOffloadRequest &+= 1
                    drop(packet)
                    taken &+= 1
                    continue
                }
            }
            // A TSO context carries this packet's PAYLEN: one per packet.
            let needsContext = segmenting || (options != 0 && context != layout)
            let needed = segments &+ (needsContext ? 1 : 0)
            if needed > freeDescriptors {
                reclaim()
                if needed > freeDescriptors { break }
            }
            if needsContext {
                E1000ContextDescriptor.write(descriptor(tail), layout)
                // The 8254x keeps one context: after a TSO one, rewrite the next.
                context = segmenting ? nil : layout
                tail = advance(tail)
                dropCounts.contextDescriptors &+= 1
            }
            var segment = packet
            var last = tail
            for index in 0..<segments {
                var command = E1000TransmitDescriptor.typeData | E1000TransmitDescriptor.extended
                    | E1000TransmitDescriptor.insertFCS | (UInt32(truncatingIfNeeded: segment.length) & E1000TransmitDescriptor.lengthMask)
                if segmenting { command |= E1000TransmitDescriptor.tcpSegmentation }
                if index == segments &- 1 {
                    command |= E1000TransmitDescriptor.endOfPacket
                    if sinceReport &+ needed >= reportThreshold {
                        command |= E1000TransmitDescriptor.reportStatus
                    }
                }
                E1000TransmitDescriptor.writeData(
                    descriptor(tail), bufferIOVA: segment.dataIOVA, command: command, options: index == 0 ? options : 0)
                last = tail
                tail = advance(tail)
                if index != segments &- 1 { segment = segment.nextSegment.unsafelyUnwrapped }
            }
            slots[last] = packet
            freeDescriptors &-= needed
            if sinceReport &+ needed >= reportThreshold {
                let slot = reportHead &+ reportCount
                reportSlots[slot >= count ? slot &- count : slot] = last
                reportCount &+= 1
                sinceReport = 0
            } else {
                sinceReport &+= needed
            }
            bytes &+= length
            sent &+= 1
            taken &+= 1
        }
        if tail != start {
            // Descriptors are in memory before the device is told of them.
            dp_wmb()
            tailRegister.write32(E1000Register.tdt, UInt32(truncatingIfNeeded: tail))
        }
        counters.packets &+= UInt64(sent)
        counters.bytes &+= UInt64(bytes)
        return taken
    }

    static let checksumRequests: OffloadFlags = [.txIPChecksum, .txTCPChecksum, .txUDPChecksum]
    /// A TSO packet: an IPv4 datagram of at most 65535 bytes behind Ethernet.
    static let largestSegmentedFrame = 14 + 65535

    private func drop(_ packet: PacketBuffer) {
        counters.errors &+= 1
        packet.free()
    }

    /// Frees every packet still in the ring. The device must be stopped.
    func releaseBuffers() {
        for index in 0..<count {
            if let packet = slots[index] {
                packet.free()
                slots[index] = nil
            }
        }
        tail = 0
        oldest = 0
        reportHead = 0
        reportCount = 0
        sinceReport = 0
        freeDescriptors = count - 1
        context = nil
    }
}

/// Packets the transmit path refused (freed and counted), by reason, and
/// context descriptors written.
struct E1000TransmitDropCounts {
    var empty: UInt64 = 0
    var tooLong: UInt64 = 0
    var tooManySegments: UInt64 = 0
    var badOffloadRequest: UInt64 = 0
    var contextDescriptors: UInt64 = 0

    mutating func count(length: Int, maximum: Int, segments: Int) {
        if length == 0 {
            empty &+= 1
        } else if length > maximum {
            tooLong &+= 1
        } else {
            tooManySegments &+= 1
        }
    }

    var named: [String: UInt64] {
        ["tx_drop_empty": empty, "tx_drop_too_long": tooLong, "tx_drop_too_many_segments": tooManySegments,
         "tx_drop_bad_offload_request": badOffloadRequest, "tx_context_descriptors": contextDescriptors]
    }
}
