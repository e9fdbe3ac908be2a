import Glibc
import SystemPackage

/// An epoll-like interest set: sockets registered once, `wait` returns
/// the ready ones. TCP sockets enter the candidate list only when the TCP
/// table reports an event for them, so a wait over thousands of idle
/// connections costs the ready ones (plus the registered UDP sockets,
/// which the stack reports no events for and which are checked every
/// wait). Level-triggered: a socket stays reported while it is ready.
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

    struct Registration {
        var descriptor: Int32
        var events: PollEvents
        var userData: UInt64
        var isCandidate: Bool
        var isDatagram: Bool
    }

    unowned let core: SocketCore
    var registrations: [Int: Registration] = [:]
    var candidates: [Int] = []
    var datagramSlots: Set<Int> = []

    init(core: SocketCore) { self.core = core }

    deinit {
        for slot in registrations.keys { core.slots[slot]?.interestSets[ObjectIdentifier(self)] = nil }
    }

    public var count: Int { registrations.count }

    /// EPOLL_CTL_ADD (EEXIST when already registered).
    public func add(_ descriptor: Int32, events: PollEvents, userData: UInt64 = 0) throws(SocketError) {
        let (slot, entry) = try core.entry(descriptor)
        guard registrations[slot] == nil else {
            throw SocketError(.fileExists, "descriptor \(descriptor) is already in this interest set: use modify")
        }
        registrations[slot] = Registration(descriptor: descriptor, events: events, userData: userData,
                                           isCandidate: false, isDatagram: entry.kind == .datagram)
        entry.interestSets[ObjectIdentifier(self)] = self
        if entry.kind == .datagram { datagramSlots.insert(slot) }
        touch(slot)
    }

    /// EPOLL_CTL_MOD (ENOENT when not registered).
    public func modify(_ descriptor: Int32, events: PollEvents, userData: UInt64 = 0) throws(SocketError) {
        let (slot, _) = try core.entry(descriptor)
        guard registrations[slot] != nil else {
            throw SocketError(.noSuchFileOrDirectory, "descriptor \(descriptor) is not in this interest set: use add")
        }
        registrations[slot]!.events = events
        registrations[slot]!.userData = userData
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
        guard var registration = registrations[slot], !registration.isCandidate else { return }
        registration.isCandidate = true
        registrations[slot] = registration
        candidates.append(slot)
    }

    /// Fills `events` with ready sockets (at most its count) and returns how
    /// many; waits up to `timeoutMilliseconds` (-1 forever) while the core runs.
    public func wait(into events: UnsafeMutableBufferPointer<Event>, timeoutMilliseconds: Int32) throws(SocketError) -> Int {
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

    private func collect(into events: UnsafeMutableBufferPointer<Event>) -> Int {
        for slot in datagramSlots { touch(slot) }
        var found = 0
        var kept: [Int] = []
        for slot in candidates {
            guard var registration = registrations[slot], let entry = core.slots[slot] else { continue }
            let ready = core.readiness(entry).intersection(registration.events.union(PollEvents.unmaskable))
            if ready.isEmpty || found == events.count {
                registration.isCandidate = !ready.isEmpty
                registrations[slot] = registration
                if !ready.isEmpty { kept.append(slot) }
                continue
            }
            events[found] = Event(descriptor: registration.descriptor, events: ready, userData: registration.userData)
            found += 1
            kept.append(slot)  // level-triggered: looked at again next time
        }
        candidates = kept
        return found
    }
}
