import Capture
import Foundation
import Platform
import Ports
import Stack
import Telemetry
import Wire

extension Echo {
    /// One core's stack, services and count of datagrams echoed.
    final class CoreRun: @unchecked Sendable {
        var stack: NetStack?
        var services: Services?
        var echoed: UInt64 = 0
        var failure: (any Error)?
    }

    /// Serves on `cores` cores: each port spread over them (its own RSS
    /// queues, or software RSS), one stack, socket table and set of services
    /// per core; core 0 on this thread, the others pinned. Returns every core's run.
    func serveOnCores(_ cores: Int, ports: StartedPorts, networks: [IPv4Network], routes: [RouteCommand], since started: UInt64,
                      capture: CaptureSession?, telemetry: DataplaneTelemetry?) throws -> [CoreRun] {
        let runs = (0..<cores).map { _ in CoreRun() }
        // Shared read-only by the cores: each touches only its own queue of each port.
        let shared = SharedPorts(ports: ports, networks: networks, routes: routes, capture: capture, telemetry: telemetry)
        let serveCore: @Sendable (Int) -> Void = { [self] index in
            let run = runs[index]
            do {
                var limits = StackLimits()
                limits.transmitBacklog = transmitBacklog
                let stack = NetStack(pool: shared.ports.pool, limits: limits)
                let services = try startServices(on: stack, ports: shared.ports, networks: shared.networks, queue: index)
                for command in shared.routes { try command.apply(to: stack) }
                run.stack = stack
                run.services = services
                // Interface i of every core's stack is port i (startServices attaches them in order).
                stack.capture = shared.capture?.makeCore()
                stack.start()
                shared.telemetry?.setCore(index, stack)
                run.echoed = serve(stack, services, since: started)
                shared.telemetry?.setCore(index, nil)
                stack.flush()
            } catch {
                run.failure = error
                StopSignals.request()
            }
        }
        if cores == 1 {
            serveCore(0)
        } else {
            let cpus = Cores.availableCPUs()
            let others = try Cores.launch(on: (1..<cores).map { cpus[$0 % cpus.count] }) { core in
                // Pool caches are per core: number this thread as the runtime core it serves.
                try? Cores.adoptCurrentThread(asCore: core.index + 1)
                serveCore(core.index + 1)
            }
            try? Cores.adoptCurrentThread(asCore: 0)
            serveCore(0)
            others.wait()
        }
        if let failure = runs.compactMap(\.failure).first { throw failure }
        return runs
    }
}

/// What every core reads and none changes after start.
private struct SharedPorts: @unchecked Sendable {
    let ports: StartedPorts
    let networks: [IPv4Network]
    let routes: [RouteCommand]
    let capture: CaptureSession?
    let telemetry: DataplaneTelemetry?
}
