import ArgumentParser
import Foundation
import Platform
import Sockets
import SystemPackage

/// Our side half-closes first: send N bytes, shutdown(SHUT_WR), then keep
/// receiving until the end of stream. The server (Tools/test.d's Python
/// peer) sends everything it read back only after it saw our FIN.
struct HalfClose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "half-close",
        abstract: "Send N bytes, shut down writing, receive until EOF; the reply must equal what was sent.")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The server that echoes after end of stream, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "Bytes to send before shutting down writing.")
    var bytes: Int = 1_000_000

    @Option(help: "Give up after this many seconds.")
    var seconds: Double = 30

    func run() throws {
        let net = try TapStack(stackOptions)
        let sent = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        var back = [UInt8]()
        back.reserveCapacity(bytes)
        let start = TSCClock.monotonicNanoseconds()
        do {
            let socket = try Socket(.stream, on: net.core)
            defer { try? socket.close() }
            try socket.setTimeouts(receive: seconds, send: seconds)
            try socket.connect(IPv4SocketAddress(to.address, to.port))
            try socket.send(sent, flags: .noSignal)
            try socket.shutdown(Int32(SHUT_WR))
            // Writing after SHUT_WR must fail with EPIPE, as on Linux.
            do {
                try socket.send([1], flags: .noSignal)
                report("FAIL: half-close: a send after shutdown(SHUT_WR) succeeded")
                throw ExitCode.failure
            } catch let error as SocketError where error.errno == .brokenPipe {}
            while true {
                let chunk = try socket.receive(maximum: 65_536).bytes
                if chunk.isEmpty { break }
                back += chunk
                guard back.count <= bytes, elapsedSeconds(since: start) < seconds else { break }
            }
        } catch let error as SocketError {
            report("FAIL: half-close: \(error) after \(back.count) of \(bytes) bytes came back")
            throw ExitCode.failure
        }
        let elapsed = elapsedSeconds(since: start)
        guard back == sent else {
            let firstDifference = zip(back, sent).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            report("FAIL: half-close: received \(back.count) bytes after our FIN, expected \(bytes) equal to what we sent"
                   + (firstDifference.map { " (first difference at byte \($0))" } ?? ""))
            throw ExitCode.failure
        }
        net.run(seconds: 3) { net.stack.tcpConnectionCount == 0 }
        report("ok: half-close by us: \(bytes) bytes sent, FIN, \(back.count) bytes received after it, equal, in \(String(format: "%.2f", elapsed)) s; \(net.tcpSummary)")
    }
}
