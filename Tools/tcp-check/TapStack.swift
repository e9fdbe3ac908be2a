import Foundation
import NetDevice
import Packets
import Platform
import Ports
import Sockets
import Stack
import TCP
import Wire

/// Our stack on one tap with a socket core over it, owned by the calling
/// thread. Blocking socket calls drive the stack (SocketCore.block polls it),
/// so a client needs no loop of its own.
final class TapStack {
    let port: OpenedPort
    let pool: PacketPool
    let stack: NetStack
    let core: SocketCore

    init(_ options: TapStackOptions) throws {
        let started = try PortBringUp.start(
            [.tap(options.tap, mac: MACAddress(options.mac))], pool: PoolRequest(name: "dp-tcp-check", capacity: options.poolSize))
        port = started[0]
        pool = started.pool
        var tcp = TCPConfiguration()
        tcp.ephemeralPorts = options.portRange!
        stack = NetStack(pool: pool, tcpConfiguration: tcp)
        try started.attach(0, to: stack, InterfaceConfiguration(address: IPv4Network(options.ip)!))
        var configuration = SocketCoreConfiguration()
        configuration.raisesSIGPIPE = false
        core = try SocketCore(stack: stack, configuration: configuration)
        stack.start()
    }

    deinit {
        stack.flush()  // nothing stays in the transmit batch when the tool exits
        port.device.stop()
    }

    /// Polls the stack for `seconds` or until `done` holds (closing handshakes, TIME-WAIT entries settling).
    @discardableResult
    func run(seconds: Double, until done: () -> Bool) -> Bool {
        core.run(seconds: seconds, until: done)
    }

    /// The TCP counters a result line quotes.
    var tcpSummary: String {
        let s = stack.tcpStatistics
        return "opened \(s.connectionsOpened), freed \(s.connectionsFreed), live \(stack.tcpConnectionCount), "
            + "TIME-WAIT \(stack.tcpTimeWaitCount), TIME-WAIT reused \(s.timeWaitReused), "
            + "ports examined per connect \(String(format: "%.1f", Double(s.ephemeralPortProbes) / Double(max(s.connectionsOpened, 1)))), "
            + "pool \(pool.statistics.available)/\(pool.statistics.capacity)"
    }
}
