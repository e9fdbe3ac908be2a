import ArgumentParser
import Foundation
import Platform
import Sockets
import SystemPackage

/// Sequential connect / send / receive the echo / close, our side closing
/// first so TIME-WAIT lands on our side.
struct Cycles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sequential connect/send/echo/close cycles against an echo server; our side closes first.")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The echo server, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "Connections to make, one after the other.")
    var count: Int = 10_000

    @Option(help: "Give up after this many seconds.")
    var seconds: Double = 120

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count \(count): must be positive") }
    }

    func run() throws {
        let net = try TapStack(stackOptions)
        let peer = IPv4SocketAddress(to.address, to.port)
        var buffer = [UInt8](repeating: 0, count: 64)
        let start = TSCClock.monotonicNanoseconds()
        var completed = 0
        var failure: String?
        var portWaits = 0
        while completed < count {
            if elapsedSeconds(since: start) > seconds {
                failure = "time limit of \(seconds) s reached"
                break
            }
            let message = Array("cycle \(completed)\n".utf8)
            do {
                try oneCycle(net, to: peer, message, &buffer)
                completed += 1
            } catch where error.errno == .resourceTemporarilyUnavailable && error.reason.hasPrefix("no free local port")
                    && portWaits < 100 * count {
                // Every local port is taken (TIME-WAIT younger than its reuse age): let time pass.
                // (connect's EAGAIN, told apart by its reason from a recv that timed out, which fails.)
                portWaits += 1
                net.run(seconds: 0.01) { false }
            } catch {
                failure = "cycle \(completed): \(error)"
                break
            }
        }
        let elapsed = elapsedSeconds(since: start)
        // Let the last closing handshakes finish (every connection released ends in TIME-WAIT or closed).
        net.run(seconds: 3) { net.stack.tcpConnectionCount == 0 }
        let rate = Double(completed) / elapsed
        let summary = "\(completed) cycles in \(String(format: "%.1f", elapsed)) s, \(String(format: "%.0f", rate)) conn/s; \(net.tcpSummary); waits for a free port \(portWaits)"
        if let failure {
            report("FAIL: cycles: \(failure) (\(summary))")
            throw ExitCode.failure
        }
        guard net.stack.tcpConnectionCount == 0 else {
            report("FAIL: cycles: \(net.stack.tcpConnectionCount) connections still open 3 s after the last close (\(summary))")
            throw ExitCode.failure
        }
        report("ok: \(summary)")
    }

    /// One connection: connect, send `message`, read the same bytes back, close.
    private func oneCycle(_ net: TapStack, to peer: IPv4SocketAddress, _ message: [UInt8],
                          _ buffer: inout [UInt8]) throws(SocketError) {
        let socket = try Socket(.stream, on: net.core)
        defer { try? socket.close() }
        try socket.setTimeouts(receive: 5, send: 5)
        try socket.connect(peer)
        try socket.send(message, flags: .noSignal)
        buffer.removeAll(keepingCapacity: true)
        while buffer.count < message.count {
            let chunk = try socket.receive(maximum: message.count - buffer.count).bytes
            guard !chunk.isEmpty else {
                throw SocketError(.connectionReset, "end of stream after \(buffer.count) of \(message.count) echoed bytes")
            }
            buffer += chunk
        }
        guard buffer == message else {
            throw SocketError(.ioError, "the echo differs from what was sent")
        }
    }
}
