import ArgumentParser
import Foundation
import Glibc
import Platform
import Sockets
import SystemPackage

/// SO_KEEPALIVE against a Linux peer: an idle connection whose peer answers
/// the probes stays up; one whose peer went silent fails with ETIMEDOUT.
struct KeepAlive: ParsableCommand {
    enum Expectation: String, ExpressibleByArgument, CaseIterable {
        case alive, timeout
    }

    static let configuration = CommandConfiguration(
        commandName: "keepalive",
        abstract: "Idle a connection with keepalive on: it must stay up (alive) or fail with ETIMEDOUT (timeout).",
        discussion: "With --expect timeout the tool prints 'connected' once the connection is up; the caller then silences the peer (e.g. iptables DROP in the namespace).")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "An echo server, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "alive: the peer answers the probes; timeout: the peer is silenced after 'connected'.")
    var expect: Expectation = .alive

    @Option(help: "TCP_KEEPIDLE, seconds.") var idle: Int32 = 1
    @Option(help: "TCP_KEEPINTVL, seconds.") var interval: Int32 = 1
    @Option(help: "TCP_KEEPCNT.") var probes: Int32 = 3

    func run() throws {
        let net = try TapStack(stackOptions)
        let socket = try Socket(.stream, on: net.core)
        defer { try? socket.close() }
        let quiet = Double(idle + interval * probes)
        do {
            try socket.setTimeouts(receive: 5, send: 5)
            try socket.connect(IPv4SocketAddress(to.address, to.port))
            try socket.setOption(level: SOL_SOCKET, name: SO_KEEPALIVE, 1)
            try socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPIDLE, idle)
            try socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPINTVL, interval)
            try socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_KEEPCNT, probes)
            try socket.send(Array("ping\n".utf8), flags: .noSignal)
            guard try socket.receive(maximum: 5, flags: .waitAll).bytes == Array("ping\n".utf8) else {
                report("FAIL: keepalive: the echo of 'ping' differs")
                throw ExitCode.failure
            }
        } catch let error as SocketError {
            report("FAIL: keepalive: setting up the connection to \(to): \(error)")
            throw ExitCode.failure
        }
        report("connected")
        let id = try net.core.connectionID(of: socket.descriptor)
        let start = TSCClock.monotonicNanoseconds()
        var outcome: Errno?
        do {
            // alive: wait well past idle + interval * probes; timeout: long enough for the probes to run out.
            try socket.setTimeouts(receive: expect == .alive ? quiet + 2 : quiet * 3 + 5)
            let bytes = try socket.receive(maximum: 16).bytes
            report("FAIL: keepalive: recv returned \(bytes.count) bytes on an idle connection")
            throw ExitCode.failure
        } catch let error as SocketError {
            outcome = error.errno
        }
        let elapsed = elapsedSeconds(since: start)
        let sent = id.flatMap { net.stack.tcpConnectionStatistics($0)?.keepAliveProbes } ?? -1
        switch expect {
        case .alive:
            guard outcome == .resourceTemporarilyUnavailable, sent >= Int(probes) else {
                report("FAIL: keepalive: expected the idle connection to stay up with \(probes)+ probes answered; "
                       + "recv ended with \(String(describing: outcome)) after \(String(format: "%.1f", elapsed)) s, \(sent) probes")
                throw ExitCode.failure
            }
            report("ok: keepalive: idle \(String(format: "%.1f", elapsed)) s, \(sent) probes answered by Linux, connection up")
        case .timeout:
            guard outcome == .timedOut else {
                report("FAIL: keepalive: expected ETIMEDOUT once the peer went silent; recv ended with "
                       + "\(String(describing: outcome)) after \(String(format: "%.1f", elapsed)) s")
                throw ExitCode.failure
            }
            report("ok: keepalive: silent peer detected, recv failed with ETIMEDOUT after \(String(format: "%.1f", elapsed)) s "
                   + "(idle \(idle) s + \(probes) probes every \(interval) s)")
        }
    }
}
