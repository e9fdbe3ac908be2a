import ArgumentParser
import Foundation
import Platform
import Sockets
import SystemPackage

/// Our connect to a Linux port with no listener: the kernel answers the SYN
/// with RST, and connect must fail with ECONNREFUSED.
struct ExpectRefused: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expect-refused",
        abstract: "Connect to a port with no listener; pass only when connect fails with ECONNREFUSED.")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "A port with no listener, A.B.C.D:PORT.")
    var to: PeerAddress

    func run() throws {
        let net = try TapStack(stackOptions)
        let socket = try Socket(.stream, on: net.core)
        defer { try? socket.close() }
        let start = TSCClock.monotonicNanoseconds()
        do {
            try socket.setTimeouts(send: 10)
            try socket.connect(IPv4SocketAddress(to.address, to.port))
        } catch where error.errno == .connectionRefused {
            report("ok: our connect to \(to) (no listener) refused with ECONNREFUSED in "
                   + "\(String(format: "%.1f", elapsedSeconds(since: start) * 1000)) ms")
            return
        } catch {
            report("FAIL: expect-refused: connect to \(to) failed with \(error) instead of ECONNREFUSED")
            throw ExitCode.failure
        }
        report("FAIL: expect-refused: connect to \(to) succeeded")
        throw ExitCode.failure
    }
}
