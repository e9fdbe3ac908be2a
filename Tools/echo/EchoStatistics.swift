import Foundation
import Ports
import Stack
import TCP

extension Echo {
    /// --stats-json: the stack's, the TCP table's, the ports' and the
    /// pool's counters at exit.
    func writeStatistics(
        to statsJSON: String, stack: NetStack, ports started: StartedPorts, tcp: TCPServices, echoed: UInt64, elapsed: Double
    ) throws {
        let counters = stack.counters.named
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
        let table = stack.tcpStatistics
        let document: [String: Any] = [
            "seconds": elapsed,
            "udpEchoed": echoed,
            "tcpConnections": tcp.accepted,
            "tcpBytesEchoed": tcp.bytesEchoed,
            "tcpBytesDiscarded": tcp.bytesDiscarded,
            "counters": counters,
            // The TCP table's own counters (SYN cookies, RSTs for closed ports, TIME-WAIT).
            "tcp": [
                "segmentsReceived": table.segmentsReceived, "resetsForClosedPorts": table.resetsForClosedPorts,
                "synCookiesSent": table.synCookiesSent, "synCookiesAccepted": table.synCookiesAccepted,
                "synCookiesRejected": table.synCookiesRejected, "synsDropped": table.synsDropped,
                "timeWaitReused": table.timeWaitReused, "timeWaitACKs": table.timeWaitACKs,
                "connectionsOpened": table.connectionsOpened, "connectionsAccepted": table.connectionsAccepted,
                "connectionsFreed": table.connectionsFreed, "controlQueueDrops": table.controlQueueDrops,
                "liveConnections": stack.tcpConnectionCount, "timeWaitEntries": stack.tcpTimeWaitCount,
            ],
            // Every TCP connection's counters summed (retransmissions, timeouts, ...).
            "tcpConnectionTotals": Dictionary(uniqueKeysWithValues: stack.tcpConnectionTotals.named),
            // "port": the first port (what single-port callers read); "ports": every one.
            "port": ports[0],
            "ports": ports,
            "pool": ["capacity": pools.capacity, "available": pools.available,
                     "allocationFailures": pools.allocationFailures],
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: statsJSON))
        } catch {
            throw failure("cannot write --stats-json \(statsJSON): \(error)")
        }
    }
}
