import ArgumentParser
import Dataplane

/// TCP and UDP echo on the Dataplane stack: one core serving one tap.
@main
struct EchoServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "EchoServer",
        abstract: "TCP and UDP echo on a userspace stack over a Linux tap.",
        discussion: """
            The tap is made in the current network namespace when absent; its kernel side (address, up) \
            is the caller's. SIGINT or SIGTERM ends the run.

              ip netns exec NS EchoServer --tap dp0 --ip 10.0.0.2/24 --port 7 --api blocking
            """)

    enum API: String, ExpressibleByArgument, CaseIterable {
        /// A task per connection on the core's executor (Socket's async calls).
        case async
        /// Blocking sockets and one wait for whichever is ready (an interest set).
        case blocking
    }

    @Option(help: "The Linux tap device to serve.")
    var tap: String

    @Option(help: "The stack's address and prefix, A.B.C.D/PREFIX.")
    var ip: String

    @Option(help: "The TCP and UDP port to echo on.")
    var port: UInt16 = 7

    @Option(help: "The socket API to serve with: \(API.allCases.map(\.rawValue).joined(separator: " or ")).")
    var api: API = .async

    func validate() throws {
        guard PortSpec("tap:\(tap)") != nil else { throw ValidationError("--tap '\(tap)': a name of 1 to 15 bytes") }
        guard ip.contains("/"), IPv4Network(ip) != nil else {
            throw ValidationError("--ip '\(ip)': expected A.B.C.D/PREFIX, e.g. 10.0.0.2/24")
        }
    }

    func run() throws {
        // Opens the tap and brings it up; `run`/`serve` give the core its stack and sockets.
        let dataplane = try DataplaneCores(arguments: ["--tap", tap, "--ip", ip, "--cores", "1"])
        StopSignals.install()
        print("EchoServer: serving TCP and UDP echo on \(ip) port \(port) with the \(api) API")
        let totals = EchoTotals()
        switch api {
        case .async:
            try dataplane.serve { _, sockets in try await echoAsync(on: sockets, port: port, totals: totals) }
        case .blocking:
            var failure: (any Error)?
            try dataplane.run { _, sockets in
                do { try echoBlocking(on: sockets, port: port, totals: totals) } catch { failure = error }
                return false  // served until a stop signal: stop the core
            }
            if let failure { throw failure }
        }
        print("EchoServer: \(totals)")
    }
}

/// What was echoed (one core: only its thread writes these).
final class EchoTotals: @unchecked Sendable, CustomStringConvertible {
    var connections = 0
    var bytes = 0
    var datagrams = 0

    var description: String { "\(connections) TCP connections, \(bytes) TCP bytes, \(datagrams) datagrams echoed" }
}
