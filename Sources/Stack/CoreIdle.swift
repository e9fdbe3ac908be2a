import CPlatform
import Glibc
import NetDevice
import Platform

/// The one place a core decides how to idle (IdlePolicy). Its loop calls
/// `afterPoll(work:)` after each turn: while work comes it returns at
/// once; after a quiet spell of `spinMicroseconds` it naps (`sleep`) or,
/// in `interrupt` mode, arms its queues' receive interrupts and sleeps in
/// epoll_wait on their descriptors and its wake-up eventfd, as DPDK's
/// l3fwd-power does: enable, poll once more (a frame that came between the
/// last poll and the enable raised no interrupt), wait, disable.
///
/// The wait ends on a frame, a `wake()` (another thread posted to the
/// stack's mailbox, dp_interrupt, a stop) or the timeout: 10 ms while the
/// stack has timers or TCP deadlines pending, 100 ms otherwise.
public final class CoreIdle {
    public let policy: IdlePolicy
    /// What the core actually does: `interrupt` falls back to `sleep` when
    /// a queue has no interrupt (a software-steered queue, a device without one).
    public private(set) var effectiveMode: IdlePolicy.Mode = .poll
    private let stack: NetStack
    private let sources: [(device: any ReceiveInterrupts, queue: Int)]
    private var epoll: Int32 = -1
    /// Written by `wake()` from any thread (async-signal-safe: one write).
    public private(set) var wakeDescriptor: Int32 = -1
    /// The TSC at the first quiet turn after work (0: the last turn found work).
    /// Read with rdtsc, never clock_gettime: a quiet core reads it every
    /// turn, and a guest whose clocksource is not the TSC (the lab's TCG
    /// guest marks its TSC unstable and uses HPET) pays a system call and
    /// an emulated device read, 1.4-3 µs, for each clock_gettime.
    private var quietSince: UInt64 = 0
    /// The policy's spin, and what the core spins now: it doubles (up to
    /// 16 times) each time a wait was woken sooner than the spin itself or
    /// the last look found work (a gap in a flow of traffic, which spinning
    /// on would have bridged more cheaply than a sleep and a wake-up: under
    /// TCG each wake-up is a host thread's too), halves back after a longer
    /// sleep, and is the policy's again after a timeout (really idle).
    private let spinCycles: UInt64
    private var currentSpinCycles: UInt64
    /// Waits in epoll (for tests and reports).
    public private(set) var interruptWaits: UInt64 = 0
    /// Waits that a frame or a wake-up, not the timeout, ended.
    public private(set) var interruptWakeups: UInt64 = 0
    /// Armings whose last look found work, so no wait followed.
    public private(set) var armedButBusy: UInt64 = 0

    /// The idle of `stack`'s core (make it on any thread; use it on the core's).
    public init(stack: NetStack, policy: IdlePolicy) {
        self.stack = stack
        self.policy = policy
        spinCycles = policy.mode == .poll ? 0 : stack.clock.cycles(fromNanoseconds: policy.spinMicroseconds * 1000)
        currentSpinCycles = spinCycles
        var sources: [(device: any ReceiveInterrupts, queue: Int)] = []
        var complete = true
        for interface in stack.interfaces {
            if let device = interface.device as? any ReceiveInterrupts, device.receiveInterruptDescriptor(queue: interface.queue) != nil {
                sources.append((device, interface.queue))
            } else {
                complete = false
            }
        }
        self.sources = sources
        var mode = policy.mode
        if mode == .interrupt && (!complete || sources.isEmpty || !openEpoll()) { mode = .sleep }
        effectiveMode = mode
        if mode == .interrupt { stack.mailbox.wakeDescriptor = wakeDescriptor }
    }

    deinit {
        stack.mailbox.wakeDescriptor = -1
        if epoll >= 0 { close(epoll) }
        if wakeDescriptor >= 0 { close(wakeDescriptor) }
    }

    private func openEpoll() -> Bool {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epoll >= 0, wakeDescriptor >= 0 else { return false }
        var descriptors = [wakeDescriptor]
        for source in sources { descriptors.append(source.device.receiveInterruptDescriptor(queue: source.queue)!) }
        for (index, descriptor) in descriptors.enumerated() {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(index)
            guard epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event) == 0 else { return false }
        }
        return true
    }

    /// Wakes the core from its wait (any thread, signal handlers included).
    public func wake() {
        guard wakeDescriptor >= 0 else { return }
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    /// The spin before the next wait, in microseconds (see `currentSpinCycles`).
    public var spinMicroseconds: UInt64 { stack.clock.nanoseconds(fromCycles: currentSpinCycles) / 1000 }

    /// What signals each of the core's queues ("msi-x", "intx", ...; for reports).
    public var interruptKinds: [String] { sources.map { $0.device.receiveInterruptKind } }

    /// Called after each turn of the core's loop with the work it found.
    /// `waitLimitMilliseconds` bounds an interrupt wait (a loop with its own
    /// timers: DataplaneNIO's scheduled tasks).
    @inline(__always)
    public func afterPoll(work: Int, waitLimitMilliseconds: Int32? = nil) {
        let now = TSCClock.cycles()
        stack.load.countTurn(endingAt: now, busy: work > 0)
        if work > 0 || effectiveMode == .poll {
            if work > 0 { quietSince = 0 }
            return
        }
        idle(now, waitLimitMilliseconds)
    }

    @inline(never)
    private func idle(_ now: UInt64, _ waitLimitMilliseconds: Int32?) {
        if quietSince == 0 { quietSince = now }  // the first quiet turn after work
        guard now &- quietSince >= currentSpinCycles else { return }
        switch effectiveMode {
        case .poll: return
        case .sleep: if policy.sleepMicroseconds > 0 { usleep(policy.sleepMicroseconds) }
        case .interrupt: waitForInterrupt(waitLimitMilliseconds)
        }
        stack.load.countIdle(until: TSCClock.cycles())
    }

    private func waitForInterrupt(_ waitLimitMilliseconds: Int32?) {
        for source in sources { source.device.enableReceiveInterrupt(queue: source.queue) }
        defer { for source in sources { source.device.disableReceiveInterrupt(queue: source.queue) } }
        // A frame that arrived before the enable raised nothing: look once more.
        if stack.poll() > 0 || stack.mailbox.pending.load(ordering: .relaxed) {
            armedButBusy += 1
            quietSince = 0
            spinLonger()
            return
        }
        let timeout: Int32 = min(stack.hasPendingTimers ? 10 : 100, max(waitLimitMilliseconds ?? .max, 0))
        var events = (epoll_event(), epoll_event(), epoll_event(), epoll_event())
        interruptWaits += 1
        let slept = TSCClock.cycles()
        let n = withUnsafeMutableBytes(of: &events) {
            epoll_wait(epoll, $0.baseAddress!.assumingMemoryBound(to: epoll_event.self), 4, timeout)
        }
        if n > 0 {
            var count: UInt64 = 0
            _ = read(wakeDescriptor, &count, 8)  // drained whether or not it fired (non-blocking)
            interruptWakeups += 1
            quietSince = 0
            if TSCClock.cycles() &- slept < currentSpinCycles { spinLonger() } else { spinShorter() }
        } else {
            currentSpinCycles = spinCycles
        }
    }

    private func spinLonger() { currentSpinCycles = min(currentSpinCycles &* 2, spinCycles &* 16) }
    private func spinShorter() { currentSpinCycles = max(currentSpinCycles / 2, spinCycles) }
}
