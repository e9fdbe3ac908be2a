import CPlatform
import Glibc
import Synchronization
import SystemPackage

/// epoll(7) over both kinds of descriptor in one set: the data plane's
/// sockets (a `SocketInterestSet` of their core) and kernel descriptors
/// (pipes, eventfd, timerfd, files, kernel sockets), which sit in a real
/// kernel epoll instance. That instance's number is the set's descriptor,
/// so it never collides with a kernel file and `close` knows it.
///
/// Waiting runs the sockets' core (every wait starts with one turn of it,
/// and it keeps turning while the application waits) and looks at the
/// kernel set with a zero timeout on each turn, so neither kind starves the
/// other; the core sleeps only when both were idle (its idle sleep). A set that never held a data-plane
/// socket waits in the kernel, as plain epoll does.
public final class EpollSet: @unchecked Sendable {
    /// The kernel epoll instance (the number the application holds).
    public let descriptor: Int32
    /// The data-plane sockets watched; made at the first socket added, and
    /// tied to that socket's core.
    public private(set) var sockets: SocketInterestSet?
    /// Kernel descriptors added and not deleted (an upper bound: the kernel
    /// forgets closed files itself); 0 spares the per-turn system call.
    private var kernelWatched = 0
    private var scratch = UnsafeMutableBufferPointer<SocketInterestSet.Event>.allocate(capacity: 64)

    /// Open sets by descriptor (epoll_ctl and epoll_wait look them up).
    private static let registry = Mutex<[Int32: EpollSet]>([:])

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { scratch.deallocate() }

    /// epoll_create1: EPOLL_CLOEXEC is the one flag (EINVAL otherwise).
    public static func create(flags: Int32) throws(SocketError) -> EpollSet {
        guard flags & ~Int32(EPOLL_CLOEXEC) == 0 else {
            throw SocketError(.invalidArgument, "epoll_create1 flags 0x\(String(flags, radix: 16)): only EPOLL_CLOEXEC")
        }
        let kernel = epoll_create1(flags)
        guard kernel >= 0 else { throw SocketError(Errno(rawValue: Glibc.errno), "the kernel refused an epoll instance") }
        let set = EpollSet(descriptor: kernel)
        registry.withLock { $0[kernel] = set }
        return set
    }

    /// The open set behind a descriptor, if it is one of ours.
    public static func find(_ descriptor: Int32) -> EpollSet? {
        registry.withLock { $0[descriptor] }
    }

    /// close(): forgets the set and closes its kernel instance.
    public func close() {
        _ = Self.registry.withLock { $0.removeValue(forKey: descriptor) }
        sockets = nil
        Glibc.close(descriptor)
    }

    // MARK: epoll_ctl

    /// EPOLL_CTL_ADD / MOD / DEL for a data-plane socket or a kernel descriptor.
    public func control(_ operation: Int32, _ target: Int32, _ event: UnsafeMutablePointer<epoll_event>?) throws(SocketError) {
        guard operation == EPOLL_CTL_ADD || operation == EPOLL_CTL_MOD || operation == EPOLL_CTL_DEL else {
            throw SocketError(.invalidArgument, "epoll_ctl op \(operation): use EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL")
        }
        guard target != descriptor else { throw SocketError(.invalidArgument, "an epoll set cannot watch itself") }
        if operation != EPOLL_CTL_DEL && event == nil { throw SocketError(.badAddress, "event is NULL") }
        guard SocketDescriptor.decode(target) != nil else { return try controlKernel(operation, target, event) }
        let core = try SocketCore.owning(target)
        if sockets == nil { sockets = core.makeInterestSet() }
        guard let sockets, sockets.core === core else {
            throw SocketError(.invalidArgument, "descriptor \(target) is a socket of core \(core.coreID); this epoll set watches another core's sockets: one set per core")
        }
        let (events, mode, data) = Self.split(event?.pointee)
        switch operation {
        case EPOLL_CTL_ADD: try sockets.add(target, events: events, mode: mode, userData: data)
        case EPOLL_CTL_MOD: try sockets.modify(target, events: events, mode: mode, userData: data)
        default: try sockets.remove(target)
        }
    }

    private func controlKernel(_ operation: Int32, _ target: Int32, _ event: UnsafeMutablePointer<epoll_event>?) throws(SocketError) {
        guard epoll_ctl(descriptor, operation, target, event) == 0 else {
            let code = Errno(rawValue: Glibc.errno)
            throw SocketError(code, "epoll_ctl on kernel descriptor \(target) failed")
        }
        if operation == EPOLL_CTL_ADD { kernelWatched += 1 }
        if operation == EPOLL_CTL_DEL { kernelWatched = max(0, kernelWatched - 1) }
    }

    /// An epoll_event's mask as poll bits, its trigger mode and its data.
    /// EPOLLWAKEUP and EPOLLEXCLUSIVE are accepted and have no effect (one
    /// waiter per core; nothing suspends).
    static func split(_ event: epoll_event?) -> (PollEvents, SocketInterestSet.Mode, UInt64) {
        guard let event else { return ([], [], 0) }
        var mode: SocketInterestSet.Mode = []
        if event.events & EPOLLET.rawValue != 0 { mode.insert(.edgeTriggered) }
        if event.events & EPOLLONESHOT.rawValue != 0 { mode.insert(.oneShot) }
        return (PollEvents(rawValue: Int16(truncatingIfNeeded: event.events & 0xFFFF)), mode, event.data.u64)
    }

    // MARK: epoll_wait

    /// Fills `events` (up to `capacity`) with ready descriptors of both
    /// kinds; waits up to `timeoutMilliseconds` (-1 forever) while the
    /// sockets' core runs.
    public func wait(_ events: UnsafeMutablePointer<epoll_event>?, capacity: Int32,
                     timeoutMilliseconds: Int32) throws(SocketError) -> Int {
        guard capacity > 0 else { throw SocketError(.invalidArgument, "maxevents \(capacity) must be greater than 0") }
        guard let events else { throw SocketError(.badAddress, "events is NULL") }
        guard let sockets else { return try waitKernel(events, capacity, timeoutMilliseconds) }
        guard sockets.core.isOnOwnerThread else {
            throw SocketError(.notPermitted, "this epoll set watches core \(sockets.core.coreID)'s sockets: wait on that core's thread")
        }
        if scratch.count < Int(capacity) {
            scratch.deallocate()
            scratch = .allocate(capacity: Int(capacity))
        }
        sockets.core.progress()
        var found = gather(events, Int(capacity), sockets)
        if found > 0 || timeoutMilliseconds == 0 { return found }
        let timeout = timeoutMilliseconds < 0 ? 0 : UInt64(timeoutMilliseconds) * 1_000_000
        do {
            try sockets.core.block(timeoutNanoseconds: timeout, "epoll_wait") { () throws(SocketError) -> Bool in
                found = gather(events, Int(capacity), sockets)
                return found > 0
            }
        } catch {
            if error.errno == .resourceTemporarilyUnavailable { return 0 }
            throw error
        }
        return found
    }

    /// One look at both kinds: the sockets first, then the kernel's with
    /// the room left (and a zero timeout).
    private func gather(_ events: UnsafeMutablePointer<epoll_event>, _ capacity: Int, _ sockets: SocketInterestSet) -> Int {
        let ours = sockets.collect(into: UnsafeMutableBufferPointer(rebasing: scratch[0..<capacity]))
        for i in 0..<ours {
            events[i].events = UInt32(UInt16(bitPattern: scratch[i].events.rawValue))
            events[i].data.u64 = scratch[i].userData
        }
        guard kernelWatched > 0, ours < capacity else { return ours }
        let kernel = epoll_wait(descriptor, events + ours, Int32(capacity - ours), 0)
        return ours + max(0, Int(kernel))
    }

    private func waitKernel(_ events: UnsafeMutablePointer<epoll_event>, _ capacity: Int32, _ timeout: Int32) throws(SocketError) -> Int {
        let found = epoll_wait(descriptor, events, capacity, timeout)
        guard found >= 0 else { throw SocketError(Errno(rawValue: Glibc.errno), "epoll_wait failed") }
        return Int(found)
    }
}
