import Glibc
import SystemPackage

/// An epoll-like interest set: sockets registered once, `wait` returns
/// the ready ones. TCP sockets enter the candidate list only when the TCP
/// table reports an event for them, so a wait over thousands of idle
/// connections costs the ready ones (plus the registered UDP sockets,
/// which the stack reports no events for and which are checked every
/// wait).
///
/// Trigger modes as epoll(7) has them: level-triggered (the default) keeps
/// reporting a socket while it is ready; edge-triggered reports it once per
/// change (new data, freed send space, a state change) and again only after
/// the next one; one-shot reports it once, then not until `modify` re-arms it.
public final class SocketInterestSet {
    public struct Event: Sendable, Equatable {
        public var descriptor: Int32
        public var events: PollEvents
        public var userData: UInt64

        public init(descriptor: Int32 = -1, events: PollEvents = [], userData: UInt64 = 0) {
            self.descriptor = descriptor
            self.events = events
            self.userData = userData
        }
    }

    /// EPOLLET and EPOLLONESHOT.
    public struct Mode: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let edgeTriggered = Mode(rawValue: 1)
        public static let oneShot = Mode(rawValue: 2)
    }

    struct Registration {
        var descriptor: Int32
        var events: PollEvents
        var userData: UInt64
        var mode: Mode
        var isCandidate: Bool
        var isDatagram: Bool
        /// One-shot registrations are disarmed once reported, until modify.
        var armed = true
        /// Edge-triggered datagram sockets: the arrival count last reported.
        var reportedArrivals: UInt64 = 0
    }

    unowned let core: SocketCore
    var registrations: [Int: Registration] = [:]
    var candidates: [Int] = []
    private var kept: [Int] = []
    var datagramSlots: Set<Int> = []

    init(core: SocketCore) {
        self.core = core
        // The two candidate lists swap on every wait; room for both up front
        // keeps a wait from allocating when one of them first grows.
        candidates.reserveCapacity(64)
        kept.reserveCapacity(64)
    }

    deinit {
        for slot in registrations.keys { core.slots[slot]?.interestSets[ObjectIdentifier(self)] = nil }
    }

    public var count: Int { registrations.count }

    /// The core whose sockets this set watches.
    public var socketCore: SocketCore { core }

    /// EPOLL_CTL_ADD (EEXIST when already registered).
    public func add(_ descriptor: Int32, events: PollEvents, mode: Mode = [], userData: UInt64 = 0) throws(SocketError) {
        let (slot, entry) = try core.entry(descriptor)
        guard registrations[slot] == nil else {
            throw SocketError(.fileExists, "descriptor \(descriptor) is already in this interest set: use modify")
        }
        registrations[slot] = Registration(descriptor: descriptor, events: events, userData: userData, mode: mode,
                                           isCandidate: false, isDatagram: entry.kind == .datagram)
        entry.interestSets[ObjectIdentifier(self)] = self
        if entry.kind == .datagram { datagramSlots.insert(slot) }
        touch(slot)
    }

    /// EPOLL_CTL_MOD (ENOENT when not registered): new events and mode, re-armed.
    public func modify(_ descriptor: Int32, events: PollEvents, mode: Mode = [], userData: UInt64 = 0) throws(SocketError) {
        let (slot, _) = try core.entry(descriptor)
        guard registrations[slot] != nil else {
            throw SocketError(.noSuchFileOrDirectory, "descriptor \(descriptor) is not in this interest set: use add")
        }
        registrations[slot]!.events = events
        registrations[slot]!.userData = userData
        registrations[slot]!.mode = mode
        registrations[slot]!.armed = true
        registrations[slot]!.reportedArrivals = 0
        touch(slot)
    }

    /// EPOLL_CTL_DEL (ENOENT when not registered). Closing a socket removes it too.
    public func remove(_ descriptor: Int32) throws(SocketError) {
        let (slot, entry) = try core.entry(descriptor)
        guard registrations[slot] != nil else {
            throw SocketError(.noSuchFileOrDirectory, "descriptor \(descriptor) is not in this interest set")
        }
        entry.interestSets[ObjectIdentifier(self)] = nil
        forget(slot)
    }

    func forget(_ slot: Int) {
        registrations[slot] = nil
        datagramSlots.remove(slot)
    }

    /// The socket may have changed: look at it in the next wait.
    func touch(_ slot: Int) {
        guard var registration = registrations[slot], !registration.isCandidate, registration.armed else { return }
        registration.isCandidate = true
        registrations[slot] = registration
        candidates.append(slot)
    }

    /// Fills `events` with ready sockets (at most its count) and returns how
    /// many; waits up to `timeoutMilliseconds` (-1 forever) while the core runs.
    public func wait(into events: UnsafeMutableBufferPointer<Event>, timeoutMilliseconds: Int32) throws(SocketError) -> Int {
        core.progress()  // the stack moves on every wait, even when something is always ready
        var found = collect(into: events)
        if found > 0 || timeoutMilliseconds == 0 { return found }
        let timeout = timeoutMilliseconds < 0 ? 0 : UInt64(timeoutMilliseconds) * 1_000_000
        do {
            try core.block(timeoutNanoseconds: timeout, "wait") { () throws(SocketError) -> Bool in
                found = collect(into: events)
                return found > 0
            }
        } catch {
            if error.errno == .resourceTemporarilyUnavailable { return 0 }
            throw error
        }
        return found
    }

    /// The ready sockets now, without running the core (what a combined
    /// wait over these and kernel descriptors looks at on each turn).
    public func collect(into events: UnsafeMutableBufferPointer<Event>) -> Int {
        touchDatagrams()
        var found = 0
        kept.removeAll(keepingCapacity: true)
        for slot in candidates {
            guard var registration = registrations[slot], let entry = core.slots[slot] else { continue }
            let ready = core.readiness(entry).intersection(registration.events.union(PollEvents.unmaskable))
            if ready.isEmpty || found == events.count || !registration.armed {
                registration.isCandidate = !ready.isEmpty && registration.armed
                registrations[slot] = registration
                if registration.isCandidate { kept.append(slot) }
                continue
            }
            events[found] = Event(descriptor: registration.descriptor, events: ready, userData: registration.userData)
            found += 1
            if registration.isDatagram, let udp = entry.udp { registration.reportedArrivals = core.stack.udpArrivals(udp) }
            if registration.mode.contains(.oneShot) {
                registration.armed = false
                registration.isCandidate = false
            } else if registration.mode.contains(.edgeTriggered) {
                registration.isCandidate = false  // until the socket changes again
            } else {
                kept.append(slot)  // level-triggered: looked at again next time
            }
            registrations[slot] = registration
        }
        swap(&candidates, &kept)
        return found
    }

    /// The stack reports no UDP events: level-triggered datagram sockets are
    /// looked at on every wait, edge-triggered ones when datagrams arrived
    /// since they were last reported.
    private func touchDatagrams() {
        for slot in datagramSlots {
            guard let registration = registrations[slot], !registration.isCandidate, registration.armed else { continue }
            if registration.mode.contains(.edgeTriggered) {
                guard let entry = core.slots[slot], let udp = entry.udp,
                      core.stack.udpArrivals(udp) != registration.reportedArrivals else { continue }
            }
            touch(slot)
        }
    }
}
