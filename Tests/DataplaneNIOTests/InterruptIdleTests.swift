import DataplaneNIO
import Glibc
import NIOCore
import Platform
import Ports
import Sockets
import Stack
import TestSupport
import Testing
import Wire

/// A loop whose core idles on its queue's receive interrupt
/// (`Configuration.idlePolicy` .interrupt, CoreIdle): it waits, a task
/// from another thread ends the wait at once (the inbox writes the wait's
/// eventfd), and scheduled tasks still run on time.
@Suite struct InterruptIdleTests {
    final class OneLoop: @unchecked Sendable {
        let ports: StartedPorts
        let port: InterruptingPort
        let group: DataplaneEventLoopGroup
        var loop: DataplaneEventLoop { group.loops[0] }

        init() throws {
            ports = try PortBringUp.startLoopbackPair(
                ringSize: 256, pool: PoolRequest(name: "nio-idle-test", capacity: 512, cacheSize: 0, policy: .anonymous))
            let port = InterruptingPort(ports[0].device)
            self.port = port
            let stack = NetStack(pool: ports.pool)
            try stack.addInterface(device: port, configuration: InterfaceConfiguration(
                address: IPv4Network("10.0.0.1/24")!, announceOnStart: false))
            stack.start()
            let stacks = UnsafeStacks([stack])
            var sockets = TwoLoops.testConfiguration
            sockets.idle = IdlePolicy(mode: .interrupt, spinMicroseconds: 0)
            let configuration = sockets
            group = try DataplaneEventLoopGroup(cores: 1, configuration: .init(idleSleepMicroseconds: 50)) { _ in
                try SocketCore(stack: stacks.value[0], group: SocketGroup(), configuration: configuration)
            }
        }

        /// (waits, wake-ups) of the loop's CoreIdle, read on the loop.
        func counts() throws -> (UInt64, UInt64) {
            try loop.submit { [loop] in (loop.sockets.idle.interruptWaits, loop.sockets.idle.interruptWakeups) }.wait()
        }
    }

    @Test func aTaskFromAnotherThreadEndsTheInterruptWait() throws {
        let one = try OneLoop()
        defer { try? one.group.syncShutdownGracefully() }
        let mode = try one.loop.submit { [loop = one.loop] in loop.sockets.idle.effectiveMode }.wait()
        #expect(mode == .interrupt)
        usleep(300_000)  // the loop goes quiet and waits
        let (waits, wakeups) = try one.counts()
        #expect(waits > 0)
        usleep(300_000)
        // This submit's wake-up, not the wait's timeout, ended the wait it found.
        let (_, wakeupsAfter) = try one.counts()
        #expect(wakeupsAfter > wakeups)
    }

    @Test func scheduledTasksRunWhileTheLoopWaitsOnInterrupts() throws {
        let one = try OneLoop()
        defer { try? one.group.syncShutdownGracefully() }
        usleep(200_000)
        let start = NIODeadline.now()
        let fired = try one.loop.scheduleTask(in: .milliseconds(30)) { NIODeadline.now() }.futureResult.wait()
        let elapsed = (fired - start).nanoseconds / 1_000_000
        #expect(elapsed >= 30 && elapsed < 1000)
        let (waits, _) = try one.counts()
        #expect(waits > 0)
        // A raised interrupt (a frame) ends a wait too.
        usleep(200_000)
        one.port.fire()
        usleep(100_000)
        let (_, wakeups) = try one.counts()
        #expect(wakeups >= 2)
    }
}
