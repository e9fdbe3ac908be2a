import ArgumentParser
import Foundation
import Platform
import Sockets
import SystemPackage

/// The Linux server resets the connection (SO_LINGER {1, 0}, close) in the
/// middle of a transfer both ways: our receive or send must fail with ECONNRESET.
struct ExpectReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expect-reset",
        abstract: "Stream both ways until the server resets; pass only when recv or send fails with ECONNRESET.")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The server that resets mid-transfer, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "Give up after this many seconds.")
    var seconds: Double = 20

    @Flag(name: .customLong("receive-only"), help: "Only receive (the reset must surface through recv).")
    var receiveOnly = false

    func run() throws {
        let net = try TapStack(stackOptions)
        let chunk = [UInt8](repeating: 0x5a, count: 16_384)
        var sent = 0
        var received = 0
        let start = TSCClock.monotonicNanoseconds()
        let socket = try Socket(.stream, on: net.core)
        defer { try? socket.close() }
        do {
            try socket.setTimeouts(receive: 5, send: 5)
            try socket.connect(IPv4SocketAddress(to.address, to.port))
        } catch {
            report("FAIL: expect-reset: connect to \(to): \(error)")
            throw ExitCode.failure
        }
        var outcome: SocketError?
        var call = ""
        while elapsedSeconds(since: start) < seconds {
            do {
                if !receiveOnly {
                    call = "send"
                    sent += try socket.send(chunk, flags: .noSignal)
                }
                call = "recv"
                let n = try socket.receive(maximum: 65_536).bytes.count
                if n == 0 {
                    report("FAIL: expect-reset: orderly end of stream after \(received) bytes instead of a reset")
                    throw ExitCode.failure
                }
                received += n
            } catch let error as SocketError {
                outcome = error
                break
            }
        }
        guard let outcome else {
            report("FAIL: expect-reset: no reset within \(seconds) s (\(sent) bytes sent, \(received) received)")
            throw ExitCode.failure
        }
        guard outcome.errno == .connectionReset, !receiveOnly || call == "recv" else {
            report("FAIL: expect-reset: \(call) failed with \(outcome) instead of ECONNRESET")
            throw ExitCode.failure
        }
        report("ok: Linux RST mid-transfer seen as ECONNRESET by \(call) after \(sent) bytes sent, \(received) received, in \(String(format: "%.2f", elapsedSeconds(since: start))) s")
    }
}
