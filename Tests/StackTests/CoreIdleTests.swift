import CPlatform
import Glibc
import NetDevice
import Packets
import Platform
import Ports
import Stack
import TestSupport
import Testing
import Wire

@Suite struct CoreIdleTests {
    func stack(interrupting: Bool) throws -> (NetStack, InterruptingPort?, StartedPorts) {
        let ports = try PortBringUp.startLoopbackPair(
            ringSize: 256, pool: PoolRequest(name: "idle-test", capacity: 512, cacheSize: 0, policy: .anonymous))
        let stack = NetStack(pool: ports.pool)
        let port = interrupting ? InterruptingPort(ports[0].device) : nil
        try stack.addInterface(device: port ?? ports[0].device,
                               configuration: InterfaceConfiguration(address: IPv4Network("10.0.0.1/24")!, announceOnStart: false))
        stack.start()
        return (stack, port, ports)
    }

    func elapsed(_ body: () -> Void) -> Double {
        let start = TSCClock.monotonicNanoseconds()
        body()
        return Double(TSCClock.monotonicNanoseconds() - start) / 1e6
    }

    @Test func aQueueWithoutAnInterruptSleepsInstead() throws {
        let (stack, _, _) = try stack(interrupting: false)
        #expect(CoreIdle(stack: stack, policy: IdlePolicy(mode: .interrupt)).effectiveMode == .sleep)
        #expect(CoreIdle(stack: stack, policy: IdlePolicy(mode: .poll)).effectiveMode == .poll)
    }

    @Test func anInterruptEndsTheWaitAndArmingIsUndone() throws {
        let (stack, port, _) = try stack(interrupting: true)
        let idle = CoreIdle(stack: stack, policy: IdlePolicy(mode: .interrupt, spinMicroseconds: 0))
        #expect(idle.effectiveMode == .interrupt)
        idle.afterPoll(work: 0)  // first quiet turn: starts the quiet spell
        // Nothing pending: the wait runs to its timeout (100 ms without timers).
        let quiet = elapsed { idle.afterPoll(work: 0) }
        #expect(quiet >= 80)
        #expect(port!.armed == port!.disarmed && port!.armed >= 1)
        // A raised interrupt ends the wait at once (epoll on the port's descriptor).
        port!.fire()
        let woken = elapsed { idle.afterPoll(work: 0) }
        #expect(woken < 50)
        #expect(idle.interruptWakeups >= 1)
        // Work posted to the stack's mailbox (telemetry asking) signals the wake-up descriptor.
        stack.mailbox.post { _ in }
        var count: UInt64 = 0
        #expect(read(idle.wakeDescriptor, &count, 8) == 8 && count == 1)
        // Work seen: no waiting at all.
        #expect(elapsed { idle.afterPoll(work: 1) } < 5)
    }

    /// Turns quiet turns until the core has waited once more (bounded: 2 s).
    func waitOnce(_ idle: CoreIdle) {
        let waits = idle.interruptWaits, busy = idle.armedButBusy
        let end = TSCClock.monotonicNanoseconds() + 2_000_000_000
        while idle.interruptWaits == waits && idle.armedButBusy == busy && TSCClock.monotonicNanoseconds() < end {
            idle.afterPoll(work: 0)
        }
    }

    @Test func theSpinGrowsAcrossShortGapsAndResetsWhenIdle() throws {
        let (stack, port, _) = try stack(interrupting: true)
        let idle = CoreIdle(stack: stack, policy: IdlePolicy(mode: .interrupt, spinMicroseconds: 1000))
        #expect(idle.spinMicroseconds >= 990 && idle.spinMicroseconds <= 1010)
        // A frame (the interrupt) right after the core went to sleep: a short gap, spin twice as long.
        port!.fire()
        waitOnce(idle)
        #expect(idle.interruptWakeups == 1)
        #expect(idle.spinMicroseconds >= 1980 && idle.spinMicroseconds <= 2020)
        for _ in 0..<6 {
            idle.afterPoll(work: 1)
            port!.fire()
            waitOnce(idle)
        }
        #expect(idle.spinMicroseconds >= 15_900 && idle.spinMicroseconds <= 16_100)  // at most 16 times the policy's
        // Nothing comes: the wait times out and the policy's spin is back.
        idle.afterPoll(work: 1)
        waitOnce(idle)
        #expect(idle.interruptWakeups == 7)
        #expect(idle.spinMicroseconds >= 990 && idle.spinMicroseconds <= 1010)
    }

    @Test func modesParse() {
        #expect(IdlePolicy(mode: "interrupt")?.mode == .interrupt)
        #expect(IdlePolicy(mode: "poll")?.mode == .poll)
        #expect(IdlePolicy(mode: "busy") == nil)
    }
}
