import CPlatform
import NetDevice
import Packets

/// The driver's side of one split virtqueue (virtio 1.x, 2.7): descriptor
/// table, available ring and used ring in DMA memory, a free list threaded
/// through the descriptors' `next` fields, and the packet that owns each
/// chain head.
///
/// Lives in memory the device object allocated once; the burst paths work
/// on it through a pointer, so nothing here is retained or copied per packet.
struct SplitVirtqueue {
    let index: Int
    let size: Int
    let mask: Int
    let layout: SplitVirtqueueLayout
    let descriptors: UnsafeMutableRawPointer
    let avail: UnsafeMutableRawPointer
    let used: UnsafeMutableRawPointer
    /// The packet whose chain starts at each descriptor (nil when free).
    let slots: UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>?>
    let notifier: VirtqueueNotifier
    let eventIndex: Bool

    var freeHead: Int
    var freeCount: Int
    /// Our copy of avail.idx: entries published so far.
    var availIndex: UInt16 = 0
    /// avail.idx at the last doorbell decision (EVENT_IDX needs it).
    var kickedAvailIndex: UInt16 = 0
    /// The next used entry to consume.
    var lastUsedIndex: UInt16 = 0
    var counters = QueueCounters()
    var kicks: UInt64 = 0
    /// Used entries that named a free or out-of-range descriptor.
    var badUsedEntries: UInt64 = 0
    /// Frames larger than one MTU: sent for the host to cut (TSO/TSO6), or
    /// received coalesced (GUEST_TSO4/6). For lab proofs of the offloads.
    var gsoFrames: UInt64 = 0

    // Descriptor flags
    static let descriptorNext: UInt16 = 1
    static let descriptorWrite: UInt16 = 2
    // Ring flags
    static let availNoInterrupt: UInt16 = 1
    static let usedNoNotify: UInt16 = 1

    /// Lays the queue out over `area` (zeroed here) and links all
    /// descriptors into the free list.
    init(index: Int, layout: SplitVirtqueueLayout, area: UnsafeMutableRawPointer,
         slots: UnsafeMutablePointer<UnsafeMutablePointer<PacketHeader>?>, notifier: VirtqueueNotifier, eventIndex: Bool)
    {
        self.index = index
        self.size = layout.size
        self.mask = layout.size - 1
        self.layout = layout
        area.initializeMemory(as: UInt8.self, repeating: 0, count: layout.totalSize)
        descriptors = area + layout.descriptorsOffset
        avail = area + layout.availOffset
        used = area + layout.usedOffset
        self.slots = slots
        slots.initialize(repeating: nil, count: layout.size)
        self.notifier = notifier
        self.eventIndex = eventIndex
        freeHead = 0
        freeCount = layout.size
        for id in 0..<layout.size { setNext(id, (id + 1) & (layout.size - 1)) }
        // Polling: the device need not interrupt (ignored under EVENT_IDX,
        // where no vector is set anyway).
        avail.storeBytes(of: Self.availNoInterrupt.littleEndian, as: UInt16.self)
        // Under EVENT_IDX the flag is ignored: used_event one behind entry 0.
        if eventIndex { (avail + (4 + 2 * layout.size)).storeBytes(of: UInt16.max.littleEndian, as: UInt16.self) }
    }

    // MARK: Descriptors

    @inline(__always)
    func setDescriptor(_ id: Int, address: UInt64, length: Int, flags: UInt16) {
        let descriptor = descriptors + id &* SplitVirtqueueLayout.descriptorSize
        descriptor.storeBytes(of: address.littleEndian, as: UInt64.self)
        descriptor.storeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian, toByteOffset: 8, as: UInt32.self)
        descriptor.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt16.self)
    }

    @inline(__always)
    func flags(_ id: Int) -> UInt16 {
        UInt16(littleEndian: descriptors.load(fromByteOffset: id &* 16 &+ 12, as: UInt16.self))
    }

    @inline(__always)
    func next(_ id: Int) -> Int {
        Int(UInt16(littleEndian: descriptors.load(fromByteOffset: id &* 16 &+ 14, as: UInt16.self))) & mask
    }

    @inline(__always)
    func setNext(_ id: Int, _ next: Int) {
        descriptors.storeBytes(of: UInt16(truncatingIfNeeded: next).littleEndian, toByteOffset: id &* 16 &+ 14, as: UInt16.self)
    }

    /// Pops a descriptor off the free list; the caller checked `freeCount`.
    @inline(__always)
    mutating func takeDescriptor() -> Int {
        let id = freeHead
        freeHead = next(id)
        freeCount &-= 1
        return id
    }

    /// Returns the chain starting at `head` to the free list; the number of
    /// descriptors it held. A chain longer than the ring (a corrupt `next`
    /// loop) stops at the ring size.
    @inline(__always)
    mutating func releaseChain(_ head: Int) -> Int {
        var tail = head
        var count = 1
        while flags(tail) & Self.descriptorNext != 0 && count < size {
            tail = next(tail)
            count &+= 1
        }
        setNext(tail, freeHead)
        freeHead = head
        freeCount &+= count
        return count
    }

    // MARK: Available ring

    /// Puts chain `head` in the next available slot, not yet visible.
    @inline(__always)
    mutating func publish(_ head: Int) {
        let slot: Int = Int(availIndex) & mask
        avail.storeBytes(of: UInt16(truncatingIfNeeded: head).littleEndian, toByteOffset: 4 &+ 2 &* slot, as: UInt16.self)
        availIndex &+= 1
    }

    /// Makes everything published visible: descriptor and ring writes
    /// first, then avail.idx (one store per burst).
    @inline(__always)
    func commitAvail() {
        dp_io_wmb()
        dp_write16(avail + 2, availIndex.littleEndian)
    }

    /// Rings the doorbell unless the device said it is polling
    /// (VRING_USED_F_NO_NOTIFY, or avail_event under EVENT_IDX).
    @inline(__always)
    mutating func kickIfNeeded() {
        guard availIndex != kickedAvailIndex else { return }
        // avail.idx must be visible before we read the device's flags:
        // a store-load order, which only a full barrier gives.
        dp_smp_mb()
        let needed: Bool
        if eventIndex {
            let event = UInt16(littleEndian: dp_read16(used + (4 + 8 * size)))
            // vring_need_event: the device asked to be woken at `event`.
            needed = (availIndex &- event &- 1) < (availIndex &- kickedAvailIndex)
        } else {
            needed = UInt16(littleEndian: dp_read16(used)) & Self.usedNoNotify == 0
        }
        kickedAvailIndex = availIndex
        if needed {
            notifier.notify()
            kicks &+= 1
        }
    }

    /// Always rings the doorbell (control commands).
    mutating func kick() {
        dp_smp_mb()
        kickedAvailIndex = availIndex
        notifier.notify()
        kicks &+= 1
    }

    // MARK: Used-buffer notifications (virtio 1.x, 2.7.7)

    /// Asks the device to interrupt on the next used buffer: under
    /// EVENT_IDX used_event (after the available ring) = the next entry we
    /// will read, else VRING_AVAIL_F_NO_INTERRUPT cleared. The full barrier
    /// orders that store before the caller's last look at used.idx (a
    /// buffer the device used before it saw the store raised nothing).
    mutating func enableUsedNotifications() {
        if eventIndex {
            dp_write16(avail + (4 + 2 * size), lastUsedIndex.littleEndian)
        } else {
            dp_write16(avail, 0)
        }
        dp_smp_mb()
    }

    /// Back to polling: the flag set again; under EVENT_IDX used_event one
    /// behind the next entry (reached only after a full turn of 65,536).
    mutating func disableUsedNotifications() {
        if eventIndex {
            dp_write16(avail + (4 + 2 * size), (lastUsedIndex &- 1).littleEndian)
        } else {
            dp_write16(avail, Self.availNoInterrupt.littleEndian)
        }
    }

    // MARK: Used ring

    /// used.idx as the device last wrote it; reads of used entries and of
    /// the buffers they name come after (dp_io_rmb).
    @inline(__always)
    func deviceUsedIndex() -> UInt16 {
        let index = UInt16(littleEndian: dp_read16(used + 2))
        dp_io_rmb()
        return index
    }

    /// Entry `position` of the used ring: descriptor id and bytes written.
    @inline(__always)
    func usedEntry(_ position: UInt16) -> (id: Int, length: Int) {
        let slot: Int = Int(position) & mask
        let entry: UnsafeMutableRawPointer = used + (4 &+ 8 &* slot)
        let id = UInt32(littleEndian: entry.load(as: UInt32.self))
        let length = UInt32(littleEndian: entry.load(fromByteOffset: 4, as: UInt32.self))
        return (Int(id), Int(length))
    }

    /// The packet owning chain `id`, or nil (counted) when the device named
    /// a descriptor that is not a chain head in flight.
    @inline(__always)
    mutating func owner(of id: Int) -> UnsafeMutablePointer<PacketHeader>? {
        guard id >= 0, id < size, let header = slots[id] else {
            badUsedEntries &+= 1
            return nil
        }
        return header
    }

    /// Frees every packet still held (after the device was reset).
    mutating func releaseAllPackets() {
        for id in 0..<size {
            if let header = slots[id] {
                PacketBuffer(header: header).free()
                slots[id] = nil
            }
        }
    }
}
