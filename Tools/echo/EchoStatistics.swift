import Foundation
import Ports
import Stack
import TCP

extension Echo {
    /// --stats-json: the stacks', the TCP tables', the ports' and the
    /// pool's counters at exit, summed over the cores (and per core in
    /// "cores" when there are several).
    func writeStatistics(to statsJSON: String, runs: [CoreRun], ports started: StartedPorts, elapsed: Double) throws {
        let stacks = runs.compactMap(\.stack)
        let tcp = runs.compactMap(\.services?.tcp)
        var counters: [String: UInt64] = [:]
        var totals: [String: UInt64] = [:]
        for stack in stacks {
            counters.merge(stack.counters.named, uniquingKeysWith: +)
            totals.merge(stack.tcpConnectionTotals.named.map { ($0.0, UInt64($0.1)) }, uniquingKeysWith: +)
        }
        let ports = started.devices.map { device in
            let port = device.statistics()
            return [
                "receivedPackets": port.receivedPackets, "receivedBytes": port.receivedBytes,
                "transmittedPackets": port.transmittedPackets, "transmittedBytes": port.transmittedBytes,
                "receiveErrors": port.receiveErrors, "transmitErrors": port.transmitErrors,
                "receiveNoBuffer": port.receiveNoBuffer,
            ]
        }
        let pools = started.pool.statistics
        let document: [String: Any] = [
            "seconds": elapsed,
            "udpEchoed": runs.map(\.echoed).reduce(0, +),
            "tcpConnections": tcp.map(\.accepted).reduce(0, +),
            "tcpBytesEchoed": tcp.map(\.bytesEchoed).reduce(0, +),
            "tcpBytesDiscarded": tcp.map(\.bytesDiscarded).reduce(0, +),
            "counters": counters,
            // The TCP tables' own counters (SYN cookies, RSTs for closed ports, TIME-WAIT).
            "tcp": tableCounters(stacks),
            // Every TCP connection's counters summed (retransmissions, timeouts, ...).
            "tcpConnectionTotals": totals,
            // "port": the first port (what single-port callers read); "ports": every one.
            "port": ports[0],
            "ports": ports,
            "pool": ["capacity": pools.capacity, "available": pools.available,
                     "allocationFailures": pools.allocationFailures],
            // Each core's share (one entry per core).
            "cores": runs.map { run in
                [
                    "udpEchoed": run.echoed, "tcpConnections": run.services?.tcp.accepted ?? 0,
                    "tcpBytesEchoed": run.services?.tcp.bytesEchoed ?? 0,
                    "wrongCore": run.stack?.counters[.flowOnWrongCore] ?? 0,
                    "framesReceived": run.stack?.counters[.framesReceived] ?? 0,
                    // CoreLoad: cycles of turns that found work, and of the others.
                    "busyCycles": run.stack?.load.busyCycles ?? 0, "idleCycles": run.stack?.load.idleCycles ?? 0,
                    "busyTurns": run.stack?.load.busyTurns ?? 0, "idleTurns": run.stack?.load.idleTurns ?? 0,
                ]
            },
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: statsJSON))
        } catch {
            throw failure("cannot write --stats-json \(statsJSON): \(error)")
        }
    }

    /// The TCP tables' counters, summed over the cores.
    private func tableCounters(_ stacks: [NetStack]) -> [String: Int] {
        var sum: [String: Int] = [:]
        for stack in stacks {
            let table = stack.tcpStatistics
            let values: [String: Int] = [
                "segmentsReceived": table.segmentsReceived, "resetsForClosedPorts": table.resetsForClosedPorts,
                "synCookiesSent": table.synCookiesSent, "synCookiesAccepted": table.synCookiesAccepted,
                "synCookiesOverHalfOpen": table.synCookiesOverHalfOpen,
                "synCookiesRejected": table.synCookiesRejected, "synsDropped": table.synsDropped,
                "cookieACKsDroppedQueueFull": table.cookieACKsDroppedQueueFull,
                "handshakeACKsDroppedQueueFull": table.handshakeACKsDroppedQueueFull,
                "synCookieACKsDroppedUnchecked": table.synCookieACKsDroppedUnchecked,
                "timeWaitReused": table.timeWaitReused, "timeWaitACKs": table.timeWaitACKs,
                "connectionsOpened": table.connectionsOpened, "connectionsAccepted": table.connectionsAccepted,
                "connectionsFreed": table.connectionsFreed, "controlQueueDrops": table.controlQueueDrops,
                "liveConnections": stack.tcpConnectionCount, "timeWaitEntries": stack.tcpTimeWaitCount,
            ]
            sum.merge(values, uniquingKeysWith: +)
        }
        return sum
    }
}
