import ArgumentParser
import Foundation
import Packets
import Platform
import Ports
import Sockets
import Stack
import TCP
import Wire

/// The data-plane side of the connection scale run (Tools/demo/conn-scale.sh):
/// an echo server on a tap that holds many connections, one core, an epoll
/// set, and its own memory accounting written to --status every second.
@main
struct ConnBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-conn-bench",
        abstract: "TCP echo on a tap for many idle connections, with memory and poll-step accounting.")

    @Option(help: "The tap device (created in the current network namespace).")
    var tap: String
    @Option(help: "The stack's address, A.B.C.D/PREFIX.")
    var ip: String
    @Option(help: "The stack's MAC address.")
    var mac: String = "02:00:0a:76:00:02"
    @Option(help: "TCP echo port.")
    var port: UInt16 = 7
    @Option(help: "Stop after this many seconds.")
    var seconds: Double = 600
    @Option(help: "Write a JSON status line here every second (replaced atomically).")
    var status: String
    @Option(name: .customLong("max-sockets"), help: "Sockets on the core (EMFILE beyond).")
    var maxSockets: Int = SocketDescriptor.slotsPerCore
    @Option(name: .customLong("pool-size"), help: "Packet buffers in the pool.")
    var poolSize: Int = 16384
    @Option(help: "The listener's accept backlog (half-open connections beyond it get SYN cookies).")
    var backlog: Int = 65535

    func run() throws {
        StopSignals.install()
        let started = try PortBringUp.start([.tap(tap, mac: MACAddress(mac))],
                                            pool: PoolRequest(name: "dp-conn-bench", capacity: poolSize))
        guard let network = IPv4Network(ip) else { throw ValidationError("--ip '\(ip)': expected A.B.C.D/PREFIX") }
        let stack = NetStack(pool: started.pool)
        try started.attach(0, to: stack, InterfaceConfiguration(address: network))
        var configuration = SocketCoreConfiguration()
        configuration.maximumSockets = maxSockets
        configuration.maximumBacklog = max(backlog, 1)
        configuration.raisesSIGPIPE = false
        let core = try SocketCore(stack: stack, configuration: configuration)
        stack.start()
        let server = try EchoServer(core: core, port: port, backlog: backlog)
        FileHandle.standardOutput.write(Data("dp-conn-bench: tcp echo on \(ip) port \(port)\n".utf8))
        try server.serve(seconds: seconds, statusPath: status)
        stack.flush()
        started[0].device.stop()
    }
}
