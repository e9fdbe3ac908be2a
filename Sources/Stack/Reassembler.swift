import Packets
import Wire

/// What identifies the fragments of one datagram (RFC 791): source,
/// destination, protocol and identification.
struct ReassemblyKey: Equatable {
    /// IPv4 addresses in their v4-mapped form, so one table serves both families.
    var source: IPv6Address
    var destination: IPv6Address
    /// IPv4's 16 bits or IPv6's 32 (RFC 8200 §4.5).
    var identification: UInt32
    /// IPv4's protocol; 44 (fragment) for IPv6, whose key is addresses and id alone.
    var protocolNumber: UInt8

    init(source: IPv4Address, destination: IPv4Address, identification: UInt16, protocolNumber: UInt8) {
        self.source = IPv6Address(ipv4Mapped: source)
        self.destination = IPv6Address(ipv4Mapped: destination)
        self.identification = UInt32(identification)
        self.protocolNumber = protocolNumber
    }

    init(source: IPv6Address, destination: IPv6Address, identification: UInt32) {
        self.source = source
        self.destination = destination
        self.identification = identification
        protocolNumber = IPProtocol.ipv6Fragment.rawValue
    }
}

/// IPv4 reassembly (RFC 791, with RFC 815's idea of tracking what is
/// missing): fragments are kept as the packet buffers they arrived in,
/// sorted by offset, and chained in order when the datagram is whole, so
/// nothing is copied.
///
/// Everything is bounded: datagrams in flight, fragments per datagram,
/// bytes of buffers held, and time. Overlapping fragments (teardrop and
/// friends) drop the whole datagram; an exact duplicate is dropped alone.
/// Every drop is counted under its reason.
final class Reassembler {
    struct Slot {
        var inUse = false
        var key = ReassemblyKey(source: IPv4Address.any, destination: .any, identification: 0, protocolNumber: 0)
        var count = 0
        /// Payload length once the last fragment (MF = 0) is seen, else -1.
        var totalLength = -1
        var receivedBytes = 0
        var bufferBytes = 0
        var deadline: UInt64 = 0
        var fragments: UnsafeMutablePointer<PacketBuffer>
        /// Byte range [start, end) of each fragment's payload in the datagram.
        var starts: UnsafeMutablePointer<Int32>
        var ends: UnsafeMutablePointer<Int32>
    }

    enum Outcome {
        /// Kept; more fragments are needed.
        case held
        /// The whole payload, chained in order (the caller owns it).
        case complete(PacketBuffer)
        /// Freed and counted.
        case dropped(StackCounter)
    }

    let maximumFragments: Int
    let memoryLimit: Int
    let timeoutCycles: UInt64
    private var slots: UnsafeMutablePointer<Slot>
    private let slotCount: Int
    private(set) var heldBytes = 0
    private(set) var inFlight = 0

    /// The largest IPv4 payload: 65,535 less a 20-byte header.
    static let maximumPayload = 65_535 - 20

    init(limits: StackLimits, cyclesPerSecond: UInt64) {
        slotCount = max(limits.reassemblyDatagrams, 1)
        maximumFragments = max(limits.reassemblyFragmentsPerDatagram, 2)
        memoryLimit = limits.reassemblyMemoryBytes
        timeoutCycles = limits.reassemblyTimeoutMilliseconds * cyclesPerSecond / 1000
        slots = .allocate(capacity: slotCount)
        for i in 0..<slotCount {
            slots[i] = Slot(fragments: .allocate(capacity: maximumFragments),
                            starts: .allocate(capacity: maximumFragments),
                            ends: .allocate(capacity: maximumFragments))
        }
    }

    /// Pool buffers the held fragments occupy (every segment of a chain).
    func heldBuffers() -> Int {
        var total = 0
        for i in 0..<slotCount where slots[i].inUse {
            for j in 0..<slots[i].count { total += slots[i].fragments[j].segmentCount }
        }
        return total
    }

    /// Frees every held fragment (while the pools are still alive).
    func releaseAll() {
        for i in 0..<slotCount { release(i) }
    }

    deinit {
        for i in 0..<slotCount {
            release(i)
            slots[i].fragments.deallocate()
            slots[i].starts.deallocate()
            slots[i].ends.deallocate()
        }
        slots.deallocate()
    }

    private static func footprint(_ packet: PacketBuffer) -> Int {
        Int(packet.header.pointee.bufferLength) + PacketHeader.reservedSize
    }

    /// Takes one fragment whose data is exactly its payload (headers and
    /// padding removed). `offset` is in bytes.
    func add(_ fragment: PacketBuffer, key: ReassemblyKey, offset: Int, moreFragments: Bool, now: UInt64) -> Outcome {
        let length = fragment.packetLength
        let end = offset + length
        guard end <= Self.maximumPayload else {
            fragment.free()
            if let index = find(key) { release(index) }
            return .dropped(.reassemblyTooLong)
        }
        // Every fragment but the last carries a multiple of 8 bytes.
        guard length > 0 || !moreFragments, !moreFragments || length % 8 == 0 else {
            fragment.free()
            return .dropped(.reassemblyBadFragment)
        }
        let footprint = Self.footprint(fragment)
        guard let index = slotIndex(for: key, now: now) else {
            fragment.free()
            return .dropped(.reassemblyTooManyDatagrams)
        }
        guard heldBytes + footprint <= memoryLimit else {
            fragment.free()
            release(index)
            return .dropped(.reassemblyMemoryLimit)
        }
        let slot = slots + index
        guard Self.recordTotalLength(slot, end: end, moreFragments: moreFragments) else {
            fragment.free()
            release(index)
            return .dropped(.reassemblyBadFragment)
        }
        let position: Int
        switch Self.placement(in: slot, offset: offset, end: end) {
        case .at(let found):
            position = found
        case .duplicate:
            fragment.free()
            return .dropped(.reassemblyDuplicate)
        case .overlap:
            fragment.free()
            release(index)
            return .dropped(.reassemblyOverlap)
        }
        guard slot.pointee.count < maximumFragments else {
            fragment.free()
            release(index)
            return .dropped(.reassemblyTooManyFragments)
        }
        insert(fragment, into: slot, at: position, offset: offset, end: end, footprint: footprint)

        guard slot.pointee.totalLength >= 0, slot.pointee.receivedBytes == slot.pointee.totalLength else {
            return .held
        }
        return assemble(index)
    }

    /// The slot of the datagram `key`, opened (with its deadline) if new;
    /// nil when every slot is in use.
    @inline(__always)
    private func slotIndex(for key: ReassemblyKey, now: UInt64) -> Int? {
        if let found = find(key) { return found }
        guard let index = freeSlot() else { return nil }
        slots[index].inUse = true
        slots[index].key = key
        slots[index].count = 0
        slots[index].totalLength = -1
        slots[index].receivedBytes = 0
        slots[index].bufferBytes = 0
        slots[index].deadline = now + timeoutCycles
        inFlight += 1
        return index
    }

    /// Records the datagram's length from the last fragment (MF = 0); false
    /// when the fragment contradicts a length already known.
    @inline(__always)
    private static func recordTotalLength(_ slot: UnsafeMutablePointer<Slot>, end: Int, moreFragments: Bool) -> Bool {
        if !moreFragments {
            if slot.pointee.totalLength >= 0 && slot.pointee.totalLength != end { return false }
            slot.pointee.totalLength = end
        }
        return !(slot.pointee.totalLength >= 0 && end > slot.pointee.totalLength)
    }

    private enum Placement {
        case at(Int)
        case duplicate
        case overlap
    }

    /// Finds the place by offset, and checks both neighbours for overlap.
    @inline(__always)
    private static func placement(in slot: UnsafeMutablePointer<Slot>, offset: Int, end: Int) -> Placement {
        var position = slot.pointee.count
        while position > 0 && Int(slot.pointee.starts[position - 1]) > offset { position -= 1 }
        if position > 0 {
            let previousStart = Int(slot.pointee.starts[position - 1])
            let previousEnd = Int(slot.pointee.ends[position - 1])
            if previousStart == offset && previousEnd == end { return .duplicate }
            if previousEnd > offset { return .overlap }
        }
        if position < slot.pointee.count && end > Int(slot.pointee.starts[position]) { return .overlap }
        return .at(position)
    }

    /// Inserts the fragment at `position`, keeping the slot sorted by offset.
    @inline(__always)
    private func insert(_ fragment: PacketBuffer, into slot: UnsafeMutablePointer<Slot>, at position: Int,
                        offset: Int, end: Int, footprint: Int) {
        var i = slot.pointee.count
        while i > position {
            slot.pointee.fragments[i] = slot.pointee.fragments[i - 1]
            slot.pointee.starts[i] = slot.pointee.starts[i - 1]
            slot.pointee.ends[i] = slot.pointee.ends[i - 1]
            i -= 1
        }
        slot.pointee.fragments[position] = fragment
        slot.pointee.starts[position] = Int32(offset)
        slot.pointee.ends[position] = Int32(end)
        slot.pointee.count += 1
        slot.pointee.receivedBytes += end - offset
        slot.pointee.bufferBytes += footprint
        heldBytes += footprint
    }

    /// Whole: no overlaps and every byte present, so the fragments tile
    /// [0, total). Chain them in order and empty the slot.
    private func assemble(_ index: Int) -> Outcome {
        let slot = slots + index
        let head = slot.pointee.fragments[0]
        for j in 1..<slot.pointee.count {
            let segment = slot.pointee.fragments[j]
            if segment.length == 0 {
                segment.free()
            } else if !head.chain(segment) {
                // More segments than a packet may have: give up on it.
                for k in j..<slot.pointee.count { slot.pointee.fragments[k].free() }
                head.free()
                forget(index)
                return .dropped(.reassemblyTooManyFragments)
            }
        }
        forget(index)
        return .complete(head)
    }

    /// Drops datagrams whose time is up; returns how many.
    func expire(now: UInt64) -> Int {
        guard inFlight > 0 else { return 0 }
        var expired = 0
        for i in 0..<slotCount where slots[i].inUse && slots[i].deadline <= now {
            release(i)
            expired += 1
        }
        return expired
    }

    private func find(_ key: ReassemblyKey) -> Int? {
        guard inFlight > 0 else { return nil }
        for i in 0..<slotCount where slots[i].inUse && slots[i].key == key { return i }
        return nil
    }

    private func freeSlot() -> Int? {
        for i in 0..<slotCount where !slots[i].inUse { return i }
        return nil
    }

    /// Frees the fragments of slot `index` and empties it.
    private func release(_ index: Int) {
        guard slots[index].inUse else { return }
        for j in 0..<slots[index].count { slots[index].fragments[j].free() }
        forget(index)
    }

    /// Empties slot `index` without freeing (its buffers were handed on).
    private func forget(_ index: Int) {
        heldBytes -= slots[index].bufferBytes
        slots[index].inUse = false
        slots[index].count = 0
        slots[index].bufferBytes = 0
        inFlight -= 1
    }
}
