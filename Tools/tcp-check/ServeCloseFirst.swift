import ArgumentParser
import Foundation
import Glibc
import Platform
import Sockets
import SystemPackage

/// Our side as a server that closes first: each accepted connection gets a
/// greeting and our FIN at once, so TIME-WAIT lands on our side. A Linux
/// client reconnecting from the same port then meets that TIME-WAIT entry,
/// which its SYN may reopen (RFC 6191: a newer timestamp).
struct ServeCloseFirst: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-close-first",
        abstract: "Accept COUNT connections on PORT; greet each and close first (TIME-WAIT on our side).")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The port to listen on.")
    var port: UInt16 = 8000

    @Option(help: "Connections to serve before exiting.")
    var count: Int = 100

    @Option(help: "Give up after this many seconds.")
    var seconds: Double = 30

    func run() throws {
        let net = try TapStack(stackOptions)
        let listener = try Socket(.stream, on: net.core)
        try listener.bind(port: port)
        try listener.listen(backlog: 64)
        // Ready for the script: it starts its client once this line is out.
        report("serving on port \(port)")
        let start = TSCClock.monotonicNanoseconds()
        var served = 0
        while served < count {
            let remaining = seconds - elapsedSeconds(since: start)
            guard remaining > 0 else {
                report("FAIL: serve-close-first: \(served) of \(count) connections within \(seconds) s; \(net.tcpSummary)")
                throw ExitCode.failure
            }
            do {
                try listener.setTimeouts(receive: remaining)
                let (socket, peer) = try listener.accept()
                try socket.send(Array("hello \(served) from \(peer)\n".utf8), flags: .noSignal)
                try socket.close()
                served += 1
            } catch {
                report("FAIL: serve-close-first: after \(served) connections: \(error); \(net.tcpSummary)")
                throw ExitCode.failure
            }
        }
        let elapsed = elapsedSeconds(since: start)
        net.run(seconds: 3) { net.stack.tcpConnectionCount == 0 }
        report("ok: served \(served) connections closing first in \(String(format: "%.1f", elapsed)) s; \(net.tcpSummary)")
    }
}
