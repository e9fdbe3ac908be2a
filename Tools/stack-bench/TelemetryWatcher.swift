import Atomics
import Foundation
import Packets
import Stack
import Telemetry

/// A thread asking a stack for `/cores` through telemetry at a fixed
/// interval, as `dp-stat --watch` does, while the stack is measured: the
/// core answers between bursts (its mailbox), the asking thread builds
/// the JSON.
final class TelemetryWatcher: @unchecked Sendable {
    let telemetry: DataplaneTelemetry
    let intervalMilliseconds: Double
    let stopping = ManagedAtomic<Bool>(false)
    let stopped = ManagedAtomic<Bool>(false)
    let answers = ManagedAtomic<Int>(0)

    init(stack: NetStack, pool: PacketPool, intervalMilliseconds: Double) {
        telemetry = DataplaneTelemetry(unlistenedPorts: [], pools: [pool])
        telemetry.setCore(0, stack)
        self.intervalMilliseconds = intervalMilliseconds
    }

    func start() {
        Thread { [self] in
            while !stopping.load(ordering: .acquiring) {
                if case .array(let cores) = telemetry.router.reply(to: "/cores"), !cores.isEmpty {
                    answers.wrappingIncrement(ordering: .relaxed)
                }
                Thread.sleep(forTimeInterval: intervalMilliseconds / 1000)
            }
            stopped.store(true, ordering: .releasing)
        }.start()
    }

    /// Stops asking; returns the answers received.
    func stop() -> Int {
        stopping.store(true, ordering: .releasing)
        while !stopped.load(ordering: .acquiring) { usleep(100) }
        telemetry.stop()
        return answers.load(ordering: .relaxed)
    }
}
