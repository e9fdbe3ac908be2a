import Atomics
import Glibc
import Platform
import Stack
import SystemPackage
import Wire

/// One core's sockets: the descriptor table over that core's NetStack, the
/// blocking-call loop, the interrupt flag and the executor of its async
/// tasks. Every call must come from the thread that made the core (or
/// adopted it with `adoptCurrentThread`); from another thread a descriptor
/// is EBADF, as a descriptor of another process would be. (Sendable so
/// tasks on its executor can hold it; the thread check guards every call.)
public final class SocketCore: @unchecked Sendable {
    public let stack: NetStack
    public let group: SocketGroup
    public let configuration: SocketCoreConfiguration
    /// This core's number in descriptors (0..<64).
    public let coreID: Int
    /// Called on every turn of a blocking call's loop (after the poll step):
    /// what the application still wants done while one call waits.
    public var whileBlocked: (() -> Void)?

    var owner: pthread_t
    var slots: [SocketEntry?] = []
    var freeSlots: [Int] = []
    var openCount = 0
    var byConnection: [TCPStreamHandle: Int] = [:]
    var byListener: [TCPListenerHandle: Int] = [:]
    var nextEphemeralPort: UInt16
    let privileged: Bool
    /// Slots whose readiness may have changed since interest sets looked.
    var changed: [Int] = []
    /// UDP sockets with async waiters (the stack reports no UDP events).
    var udpWaiting: Set<Int> = []
    public let executor: SocketCoreExecutor
    /// Where a datagram is gathered for sendmsg/writev or received whole for
    /// recvmsg/readv with several buffers (allocated at first use, kept).
    var vectorScratchStorage: UnsafeMutableRawBufferPointer?
    var vectorListStorage: UnsafeMutableBufferPointer<UnsafeRawBufferPointer>?

    // MARK: The registry of cores (descriptor → core, interrupt flags)

    nonisolated(unsafe) static let registry: [ManagedAtomic<UnsafeRawPointer?>] =
        (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic<UnsafeRawPointer?>(nil) }
    /// Core ids in use (taken at init, given back at deinit).
    static let claimed: [ManagedAtomic<Bool>] =
        (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic(false) }
    static let interruptFlags: [ManagedAtomic<Bool>] =
        (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic(false) }
    /// Each core's wake-up eventfd while it idles in interrupt mode (-1: none).
    static let wakeDescriptors: [ManagedAtomic<Int32>] =
        (0..<SocketDescriptor.maximumCores).map { _ in ManagedAtomic(-1) }

    /// How this core idles (the configuration's policy; made on first use,
    /// when the stack's interfaces are attached).
    public private(set) lazy var idle: CoreIdle = {
        let made = CoreIdle(stack: stack, policy: configuration.idlePolicy)
        Self.wakeDescriptors[coreID].store(made.wakeDescriptor, ordering: .releasing)
        return made
    }()

    /// Makes the socket table of `stack`, owned by the calling thread.
    public init(stack: NetStack, group: SocketGroup = .shared,
                configuration: SocketCoreConfiguration = SocketCoreConfiguration()) throws(SocketError) {
        self.stack = stack
        self.group = group
        self.configuration = configuration
        owner = pthread_self()
        switch configuration.privilegedPorts {
        case .allowed: privileged = true
        case .denied: privileged = false
        case .capability: privileged = Self.hasBindServiceCapability()
        }
        let ephemeralPorts = stack.tcpEphemeralPorts
        nextEphemeralPort = ephemeralPorts.lowerBound &+ UInt16.random(in: 0...UInt16(ephemeralPorts.count - 1))
        executor = SocketCoreExecutor()
        var chosen: Int?
        for id in 0..<SocketDescriptor.maximumCores
        where Self.claimed[id].compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            chosen = id
            break
        }
        guard let chosen else {
            throw SocketError(.tooManyOpenFiles, "all \(SocketDescriptor.maximumCores) socket cores are in use: destroy one first")
        }
        coreID = chosen
        Self.registry[chosen].store(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()), ordering: .releasing)
        Self.interruptFlags[chosen].store(false, ordering: .relaxed)
        executor.core = self
        stack.tcpEventHandler = { [unowned self] event in self.handle(event) }
    }

    deinit {
        // No events to a core that is going away (closing runs TCP, which reports them).
        stack.tcpEventHandler = nil
        for slot in slots.indices where slots[slot] != nil { closeSlot(slot) }
        // Sockets left open ended as close() ends them (FIN, or RST with
        // unread data), as when a process exits: send those now, not never.
        stack.flush()
        vectorScratchStorage?.deallocate()
        vectorListStorage?.deallocate()
        Self.wakeDescriptors[coreID].store(-1, ordering: .releasing)
        Self.registry[coreID].store(nil, ordering: .releasing)
        Self.claimed[coreID].store(false, ordering: .releasing)
    }

    /// The core a descriptor belongs to, when it is alive.
    static func core(of descriptor: Int32) -> SocketCore? {
        guard let (core, _) = SocketDescriptor.decode(descriptor),
              let pointer = registry[core].load(ordering: .acquiring) else { return nil }
        return Unmanaged<SocketCore>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Makes the calling thread the owner (after creating the core on
    /// another thread, before it starts serving).
    public func adoptCurrentThread() { owner = pthread_self() }

    public var isOnOwnerThread: Bool { pthread_equal(owner, pthread_self()) != 0 }

    static func hasBindServiceCapability() -> Bool {
        // CapEff in /proc/self/status, bit 10 = CAP_NET_BIND_SERVICE.
        guard let file = fopen("/proc/self/status", "r") else { return false }
        defer { fclose(file) }
        var line = [UInt8](repeating: 0, count: 256)
        while line.withUnsafeMutableBufferPointer({ buffer in
            buffer.withMemoryRebound(to: CChar.self) { fgets($0.baseAddress, Int32($0.count), file) != nil }
        }) {
            let text = String(decoding: line.prefix { $0 != 0 }, as: UTF8.self)
            if text.hasPrefix("CapEff:") {
                let hex = String(text.dropFirst(7).filter(\.isHexDigit))
                return (UInt64(hex, radix: 16) ?? 0) & (1 << 10) != 0
            }
        }
        return false
    }

    // MARK: Interrupts

    /// Makes the call blocked on core `coreID` (or that core's next
    /// blocking call in the same loop turn) fail with EINTR. Async-signal
    /// safe: one atomic store.
    public static func interrupt(coreID: Int) {
        guard coreID >= 0, coreID < SocketDescriptor.maximumCores else { return }
        interruptFlags[coreID].store(true, ordering: .releasing)
        // A core asleep in interrupt mode wakes now (write(2) is async-signal safe).
        let wake = wakeDescriptors[coreID].load(ordering: .acquiring)
        if wake >= 0 {
            var one: UInt64 = 1
            _ = Glibc.write(wake, &one, 8)
        }
    }

    public func interrupt() { Self.interrupt(coreID: coreID) }

    func takeInterrupt() -> Bool {
        Self.interruptFlags[coreID].load(ordering: .acquiring)
            && Self.interruptFlags[coreID].exchange(false, ordering: .acquiringAndReleasing)
    }

    // MARK: Descriptors

    /// The entry behind a descriptor: EBADF for numbers that are no open
    /// socket (or a socket of another core or thread), ENOTSOCK for open
    /// kernel descriptors.
    func entry(_ descriptor: Int32) throws(SocketError) -> (slot: Int, entry: SocketEntry) {
        guard let (core, slot) = SocketDescriptor.decode(descriptor) else {
            if descriptor >= 0 && fcntl(descriptor, F_GETFD) != -1 {
                throw SocketError(.notSocket, "descriptor \(descriptor) is a kernel file, not a Dataplane socket")
            }
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) is not open")
        }
        guard core == coreID else {
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) belongs to core \(core), not to core \(coreID): use it on its own core")
        }
        guard isOnOwnerThread else {
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) is used from a thread that does not own core \(coreID)")
        }
        guard slot < slots.count, let entry = slots[slot] else {
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) is not open (closed or never made)")
        }
        return (slot, entry)
    }

    func descriptor(_ slot: Int) -> Int32 { SocketDescriptor.make(core: coreID, slot: slot) }

    /// Takes a slot and the group's share for a new socket (no buffer
    /// memory: rings are charged as data is queued, so only the limits say no).
    func allocate(_ entry: SocketEntry) throws(SocketError) -> Int {
        guard openCount < configuration.maximumSockets else {
            throw SocketError(.tooManyOpenFiles, "core \(coreID) has \(openCount) sockets open, its limit: close some or raise SocketCoreConfiguration.maximumSockets")
        }
        guard group.reserveSocket() else {
            throw SocketError(.tooManyOpenFilesInSystem, "all \(group.socketLimit) sockets of the group are open: close some or raise SocketGroup.socketLimit")
        }
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = entry
        } else {
            guard slots.count < SocketDescriptor.slotsPerCore else {
                group.releaseSocket()
                throw SocketError(.tooManyOpenFiles, "core \(coreID) has no descriptor slot left")
            }
            slot = slots.count
            slots.append(entry)
        }
        openCount += 1
        return slot
    }

    /// socket(): AF_INET or AF_INET6 with SOCK_STREAM (TCP) or SOCK_DGRAM (UDP),
    /// optionally | SOCK_NONBLOCK | SOCK_CLOEXEC.
    public func socket(domain: Int32, type: Int32, protocol: Int32) throws(SocketError) -> Int32 {
        guard domain == AF_INET || domain == AF_INET6 else {
            throw SocketError(.addressFamilyNotSupported, "domain \(domain) is neither AF_INET nor AF_INET6")
        }
        let flags = type & (Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        let base = type & ~flags
        guard base & ~0xF == 0 else {
            throw SocketError(.invalidArgument, "type \(type) has unknown flag bits: only SOCK_NONBLOCK and SOCK_CLOEXEC may be or-ed in")
        }
        let kind: SocketKind
        switch base {
        case Int32(SOCK_STREAM.rawValue):
            guard `protocol` == 0 || `protocol` == Int32(IPPROTO_TCP) else {
                throw SocketError(.protocolNotSupported, "protocol \(`protocol`) with SOCK_STREAM: use 0 or IPPROTO_TCP")
            }
            kind = .stream
        case Int32(SOCK_DGRAM.rawValue):
            guard `protocol` == 0 || `protocol` == Int32(IPPROTO_UDP) else {
                throw SocketError(.protocolNotSupported, "protocol \(`protocol`) with SOCK_DGRAM: use 0 or IPPROTO_UDP")
            }
            kind = .datagram
        case Int32(SOCK_RAW.rawValue):
            guard privileged else {
                throw SocketError(.permissionDenied, "SOCK_RAW needs privilege (and is not supported: use SOCK_STREAM or SOCK_DGRAM)")
            }
            throw SocketError(.protocolNotSupported, "SOCK_RAW is not supported: use SOCK_STREAM or SOCK_DGRAM")
        default:
            throw SocketError(.protocolNotSupported, "socket type \(base) is not supported: use SOCK_STREAM or SOCK_DGRAM")
        }
        let options = SocketOptionValues(receiveBufferSize: configuration.defaultReceiveBufferSize,
                                         sendBufferSize: configuration.defaultSendBufferSize)
        let entry = SocketEntry(kind: kind, nonBlocking: flags & Int32(SOCK_NONBLOCK.rawValue) != 0, options: options)
        entry.closeOnExec = flags & Int32(SOCK_CLOEXEC.rawValue) != 0
        if domain == AF_INET6 { entry.family = AF_INET6 }
        return descriptor(try allocate(entry))
    }

    /// close(): frees the descriptor. TCP finishes on its own (FIN after
    /// queued data; RST with SO_LINGER 0; waits up to the linger time when set).
    public func close(_ descriptor: Int32) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        if entry.kind == .stream, let id = entry.connection, entry.options.lingerOn {
            if entry.options.lingerSeconds == 0 {
                stack.tcpAbort(id)
            } else if !entry.nonBlocking {
                stack.tcpRelease(id)
                byConnection[id] = nil
                entry.connection = nil
                let deadline = deadlineCycles(afterNanoseconds: UInt64(entry.options.lingerSeconds) * 1_000_000_000)
                while let status = stack.tcpStatus(id), status.bytesUnacknowledged > 0,
                      status.state.phase != .closed, TSCClock.cycles() < deadline, !takeInterrupt() {
                    step()
                }
            }
        }
        closeSlot(slot)
        // The FIN or RST leaves now, as with the kernel: the application may
        // not poll again soon (or ever, when it closes and exits).
        stack.flush()
    }

    func closeSlot(_ slot: Int) {
        guard let entry = slots[slot] else { return }
        if let udp = entry.udp { stack.udpClose(udp) }
        leaveAllGroups(entry)
        entry.peeked?.payload.free()
        entry.peeked = nil
        if let id = entry.connection {
            byConnection[id] = nil
            stack.tcpRelease(id)
        }
        if let id = entry.listener {
            byListener[id] = nil
            stack.tcpCloseListener(id)
        }
        if let port = entry.claimedPort {
            group.release(stream: entry.kind == .stream, port: port, core: coreID, slot: slot)
        }
        let watchers = entry.interestSets  // a copy: forget may change the entry's
        watchers.forEach { $0.forget(slot) }
        for waiter in entry.waiters { waiter.resume() }
        entry.waiters.removeAll()
        udpWaiting.remove(slot)
        slots[slot] = nil
        freeSlots.append(slot)
        openCount -= 1
        group.releaseSocket()
    }

    // MARK: The loop

    /// One turn of the core: its async tasks, then one poll step of the stack.
    @discardableResult
    public func runOnce() -> Int {
        _ = Self.interruptFlags[coreID].exchange(false, ordering: .relaxed)
        executor.runJobs()
        return step()
    }

    /// Runs the core until `done` returns true (or `seconds` pass; false then).
    public func run(seconds: Double = .infinity, until done: () -> Bool) -> Bool {
        let deadline = seconds.isFinite ? deadlineCycles(afterNanoseconds: UInt64(seconds * 1e9)) : UInt64.max
        while !done() {
            if TSCClock.cycles() >= deadline { return false }
            idle.afterPoll(work: runOnce())
        }
        return true
    }

    /// The TSC `nanoseconds` from now (saturating). The loops below look at
    /// their deadline every turn: with rdtsc, never clock_gettime, a system
    /// call and an emulated HPET read (1.4-3 µs) in the lab's TCG guest
    /// (Docs/OPERATIONS.md "Idle").
    private func deadlineCycles(afterNanoseconds nanoseconds: UInt64) -> UInt64 {
        let now = TSCClock.cycles()
        let span = Double(nanoseconds) * Double(stack.clock.cyclesPerSecond) / 1e9
        return span >= Double(UInt64.max - now) ? UInt64.max : now + UInt64(span)
    }

    /// One poll step of the stack, then wake-ups for UDP async waiters.
    @discardableResult
    func step() -> Int {
        let received = stack.poll()
        if !udpWaiting.isEmpty {
            for slot in udpWaiting {
                guard let entry = slots[slot], let udp = entry.udp, !stack.udpReadiness(udp).isEmpty else { continue }
                wake(slot)
            }
        }
        return received
    }

    /// One turn without waiting: a poll step and what the application runs
    /// while blocked. Waits (epoll_wait, poll) start with it, so the stack
    /// makes progress on every call even when something is always ready.
    func progress() {
        step()
        whileBlocked?()
    }

    /// Keeps the core running (poll steps, timers, other sockets) until
    /// `ready` is true, the timeout passes (EAGAIN) or an interrupt comes (EINTR).
    func block(timeoutNanoseconds: UInt64, _ what: String, until ready: () throws(SocketError) -> Bool) throws(SocketError) {
        let deadline = timeoutNanoseconds == 0 ? UInt64.max : deadlineCycles(afterNanoseconds: timeoutNanoseconds)
        while true {
            if try ready() { return }
            if takeInterrupt() {
                throw SocketError(.interrupted, "\(what) was interrupted (SocketCore.interrupt / dp_interrupt)")
            }
            if TSCClock.cycles() >= deadline {
                throw SocketError(.resourceTemporarilyUnavailable, "\(what) timed out (SO_RCVTIMEO / SO_SNDTIMEO)")
            }
            let received = step()
            whileBlocked?()
            idle.afterPoll(work: received)
        }
    }

    // MARK: Events

    func handle(_ event: TCPStreamEvent) {
        switch event {
        case .stream(let id, let connected, let failure):
            guard let slot = byConnection[id], let entry = slots[slot] else { return }
            if connected { entry.connecting = false }
            if let failure {
                entry.connecting = false
                entry.pendingError = Self.errno(for: failure)
            }
            wake(slot)
        case .listener(let id):
            guard let slot = byListener[id] else { return }
            wake(slot)
        }
    }

    /// Tells interest sets and async waiters that a socket may have changed.
    func wake(_ slot: Int) {
        guard let entry = slots[slot] else { return }
        let watchers = entry.interestSets
        watchers.forEach { $0.touch(slot) }
        if !entry.waiters.isEmpty {
            let waiters = entry.waiters
            entry.waiters.removeAll()
            udpWaiting.remove(slot)
            for waiter in waiters { waiter.resume() }
        }
    }

    static func errno(for failure: TCPStreamFailure) -> Errno {
        switch failure {
        case .refused: .connectionRefused
        case .reset: .connectionReset
        case .timedOut: .timedOut
        case .hostUnreachable: .noRouteToHost
        case .networkDown: .networkDown
        }
    }
}

extension SocketCore {
    /// The core a descriptor belongs to (for the C API, which has only the
    /// number): ENOTSOCK for an open kernel descriptor, EBADF otherwise.
    public static func owning(_ descriptor: Int32) throws(SocketError) -> SocketCore {
        guard SocketDescriptor.decode(descriptor) != nil else {
            if descriptor >= 0 && fcntl(descriptor, F_GETFD) != -1 {
                throw SocketError(.notSocket, "descriptor \(descriptor) is a kernel file, not a Dataplane socket")
            }
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) is not open")
        }
        guard let core = core(of: descriptor) else {
            throw SocketError(.badFileDescriptor, "descriptor \(descriptor) belongs to no running core")
        }
        return core
    }
}
