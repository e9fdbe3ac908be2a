import Packets
import Wire

/// The neighbour table (RFC 826 with the reachable/stale life of RFC 4861's
/// neighbour cache): fixed entries, an index by address, and per entry a
/// small queue of packets waiting for the address to resolve.
///
/// One table per family: `ARPCache<IPv4Address>` for ARP and
/// `ARPCache<IPv6Address>` for NDP (RFC 4861 §7.3), with the same bounds.
/// RFC 4861's DELAY and PROBE states are folded into stale: a stale entry
/// is used and a solicitation is sent at once to confirm it.
///
/// The cache decides; the stack sends. Lookups that need a request on the
/// wire say so in their result.
final class ARPCache<Address: NeighborAddress> {
    enum State: UInt8 {
        case free
        /// Requested, not answered yet; packets wait.
        case incomplete
        /// Confirmed recently.
        case reachable
        /// Older than the reachable time: used, and refreshed when used.
        case stale
        /// Static (`ip neigh add ... nud permanent`): never expires, never
        /// replaced by what the wire says, removed only by hand.
        case permanent
    }

    struct Entry {
        var state: State = .free
        var address = Address.unspecifiedNeighbor
        var macAddress = MACAddress.zero
        var interface = 0
        /// Reachable until (cycles); then stale until `forgetAt`.
        var reachableUntil: UInt64 = 0
        var forgetAt: UInt64 = 0
        /// Requests sent while incomplete, and when the last refresh of a
        /// stale entry was asked for.
        var attempts = 0
        var lastRequest: UInt64 = 0
        /// Invalidates timers of an entry that was reused.
        var generation: UInt32 = 0
        var pendingCount = 0
        var pending: UnsafeMutablePointer<PacketBuffer>
    }

    enum Lookup {
        /// Send now to this address.
        case resolved(MACAddress)
        /// Send now, and ask again (a stale entry being refreshed).
        case resolvedRefresh(MACAddress)
        /// The packet waits; `request` says whether to send the first request.
        case queued(entry: Int, generation: UInt32, firstRequest: Bool)
        /// Dropped (freed) for this reason.
        case dropped(StackCounter)
    }

    let capacity: Int
    let pendingPerEntry: Int
    let pendingLimit: Int
    let reachableCycles: UInt64
    let staleCycles: UInt64
    let maximumAttempts: Int
    let retryCycles: UInt64
    private(set) var pendingTotal = 0
    private(set) var entries: UnsafeMutablePointer<Entry>
    private var index: [Address: Int]

    init(limits: StackLimits, cyclesPerSecond: UInt64) {
        capacity = max(limits.arpCacheEntries, 1)
        pendingPerEntry = max(limits.arpPendingPerEntry, 1)
        pendingLimit = max(limits.arpPendingTotal, 1)
        reachableCycles = limits.arpReachableMilliseconds * cyclesPerSecond / 1000
        staleCycles = limits.arpStaleMilliseconds * cyclesPerSecond / 1000
        maximumAttempts = max(limits.arpRequestAttempts, 1)
        retryCycles = limits.arpRetryMilliseconds * cyclesPerSecond / 1000
        entries = .allocate(capacity: capacity)
        for i in 0..<capacity {
            entries.advanced(by: i).initialize(to: Entry(pending: .allocate(capacity: pendingPerEntry)))
        }
        index = [:]
        index.reserveCapacity(capacity * 2)
    }

    /// Frees every waiting packet (while the pools are still alive).
    func releaseAll() {
        for i in 0..<capacity {
            for j in 0..<entries[i].pendingCount { entries[i].pending[j].free() }
            pendingTotal -= entries[i].pendingCount
            entries[i].pendingCount = 0
        }
    }

    deinit {
        releaseAll()
        for i in 0..<capacity {
            entries[i].pending.deallocate()
        }
        entries.deallocate()
    }

    /// The entry for `address` now, for tests and reports.
    func entry(for address: Address) -> Entry? {
        index[address].map { entries[$0] }
    }

    /// Where to send a packet for `address` on `interface`. When the
    /// address is unknown, `packet` is queued (or dropped when the queue is
    /// full); otherwise it is not touched.
    func lookup(_ address: Address, interface: Int, packet: PacketBuffer, now: UInt64) -> Lookup {
        if let i = index[address] {
            let entry = entries + i
            switch entry.pointee.state {
            case .permanent:
                return .resolved(entry.pointee.macAddress)
            case .reachable where now < entry.pointee.reachableUntil:
                return .resolved(entry.pointee.macAddress)
            case .reachable, .stale:
                if now >= entry.pointee.forgetAt {
                    // Unconfirmed for too long: start over as incomplete.
                    entry.pointee.state = .incomplete
                    entry.pointee.attempts = 0
                    entry.pointee.generation &+= 1
                    return enqueue(packet, entry: i, first: true)
                }
                entry.pointee.state = .stale
                if now &- entry.pointee.lastRequest >= retryCycles {
                    entry.pointee.lastRequest = now
                    return .resolvedRefresh(entry.pointee.macAddress)
                }
                return .resolved(entry.pointee.macAddress)
            case .incomplete:
                return enqueue(packet, entry: i, first: false)
            case .free:
                break
            }
        }
        guard let i = allocateEntry(now: now) else {
            packet.free()
            return .dropped(.arpCacheFull)
        }
        entries[i].state = .incomplete
        entries[i].address = address
        entries[i].interface = interface
        entries[i].attempts = 0
        entries[i].macAddress = .zero
        index[address] = i
        return enqueue(packet, entry: i, first: true)
    }

    private func enqueue(_ packet: PacketBuffer, entry i: Int, first: Bool) -> Lookup {
        guard entries[i].pendingCount < pendingPerEntry, pendingTotal < pendingLimit else {
            packet.free()
            if first {
                // No packet waits, so no request and no retry timer: an
                // entry left incomplete would hold later packets forever
                // (found by the whole-stack fuzzer). Forget it; the next
                // packet starts over.
                index[entries[i].address] = nil
                entries[i].state = .free
                entries[i].generation &+= 1
            }
            return .dropped(.arpQueueFull)
        }
        entries[i].pending[entries[i].pendingCount] = packet
        entries[i].pendingCount += 1
        pendingTotal += 1
        if first { entries[i].attempts = 1 }
        return .queued(entry: i, generation: entries[i].generation, firstRequest: first)
    }

    /// A free entry, or the oldest one past its stale time, or nil.
    private func allocateEntry(now: UInt64) -> Int? {
        if index.count < capacity {
            for i in 0..<capacity where entries[i].state == .free {
                entries[i].generation &+= 1
                return i
            }
        }
        var victim: Int?
        for i in 0..<capacity where entries[i].state == .stale || entries[i].state == .reachable {
            if now >= entries[i].forgetAt, victim.map({ entries[i].forgetAt < entries[$0].forgetAt }) ?? true {
                victim = i
            }
        }
        guard let victim else { return nil }
        index[entries[victim].address] = nil
        entries[victim].state = .free
        entries[victim].generation &+= 1
        return victim
    }

    /// Records that `address` is at `macAddress` (a reply, or a request
    /// naming us as the target, or an update of a known entry). With
    /// `create` false only existing entries are updated (RFC 826's merge).
    /// Calls `release` with each packet that was waiting, in order.
    @discardableResult
    func confirm(_ address: Address, at macAddress: MACAddress, interface: Int, create: Bool, now: UInt64,
                 release: (PacketBuffer, MACAddress, Int) -> Void) -> Bool {
        let i: Int
        if let existing = index[address] {
            if entries[existing].state == .permanent { return true }
            i = existing
        } else {
            guard create, let fresh = allocateEntry(now: now) else { return false }
            i = fresh
            entries[i].address = address
            entries[i].pendingCount = 0
            index[address] = i
        }
        entries[i].state = .reachable
        entries[i].macAddress = macAddress
        entries[i].interface = interface
        entries[i].reachableUntil = now + reachableCycles
        entries[i].forgetAt = now + reachableCycles + staleCycles
        entries[i].attempts = 0
        entries[i].lastRequest = now
        let waiting = entries[i].pendingCount
        entries[i].pendingCount = 0
        pendingTotal -= waiting
        for j in 0..<waiting { release(entries[i].pending[j], macAddress, entries[i].interface) }
        return true
    }

    /// Sets a permanent entry for `address` (replacing what was learnt;
    /// packets waiting for it go out now through `release`). False when the
    /// table is full of entries that cannot be replaced.
    func setPermanent(_ address: Address, at macAddress: MACAddress, interface: Int, now: UInt64,
                      release: (PacketBuffer, MACAddress, Int) -> Void) -> Bool {
        if let i = index[address], entries[i].state == .permanent {
            entries[i].macAddress = macAddress
            entries[i].interface = interface
            return true
        }
        guard confirm(address, at: macAddress, interface: interface, create: true, now: now, release: release),
              let i = index[address] else { return false }
        entries[i].state = .permanent
        entries[i].generation &+= 1  // a pending retry timer of the old entry does nothing
        return true
    }

    /// Removes the entry for `address` (any state); false when there is none.
    func remove(_ address: Address) -> Bool {
        guard let i = index[address] else { return false }
        for j in 0..<entries[i].pendingCount { entries[i].pending[j].free() }
        pendingTotal -= entries[i].pendingCount
        entries[i].pendingCount = 0
        index[address] = nil
        entries[i].state = .free
        entries[i].generation &+= 1
        return true
    }

    enum RetryDecision {
        /// Send another request for this address, then check again after `after` cycles.
        case request(Address, interface: Int, after: UInt64)
        /// Given up: the waiting packets were freed (this many).
        case gaveUp(dropped: Int)
        /// Nothing to do (resolved, or a stale timer).
        case none
    }

    /// Gives up on incomplete entry `i` now (its retry timer could not be
    /// scheduled): frees the waiting packets and returns how many.
    func abandon(entry i: Int, generation: UInt32, failed: (PacketBuffer) -> Void) -> Int {
        guard i >= 0, i < capacity, entries[i].generation == generation, entries[i].state == .incomplete else { return 0 }
        entries[i].attempts = maximumAttempts
        if case .gaveUp(let dropped) = retry(entry: i, generation: generation, failed: failed) { return dropped }
        return 0
    }

    /// The retry timer of entry `i` fired. When it gives up, each waiting
    /// packet goes to `failed`, which frees it.
    func retry(entry i: Int, generation: UInt32, failed: (PacketBuffer) -> Void) -> RetryDecision {
        guard i >= 0, i < capacity, entries[i].generation == generation, entries[i].state == .incomplete else {
            return .none
        }
        if entries[i].attempts >= maximumAttempts {
            let dropped = entries[i].pendingCount
            pendingTotal -= dropped
            entries[i].pendingCount = 0
            for j in 0..<dropped { failed(entries[i].pending[j]) }
            index[entries[i].address] = nil
            entries[i].state = .free
            entries[i].generation &+= 1
            return .gaveUp(dropped: dropped)
        }
        entries[i].attempts += 1
        // Back-off: the interval doubles with each attempt.
        return .request(entries[i].address, interface: entries[i].interface,
                        after: retryCycles << UInt64(entries[i].attempts - 1))
    }
}

/// An address a neighbour table holds: IPv4 (ARP) or IPv6 (NDP).
protocol NeighborAddress: Hashable {
    /// The value a free entry holds.
    static var unspecifiedNeighbor: Self { get }
}

extension IPv4Address: NeighborAddress {
    static var unspecifiedNeighbor: IPv4Address { .any }
}

extension IPv6Address: NeighborAddress {
    static var unspecifiedNeighbor: IPv6Address { .unspecified }
}
