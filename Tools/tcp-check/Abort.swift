import ArgumentParser
import Foundation
import Glibc
import Platform
import Sockets
import SystemPackage

/// Our side ends a connection with RST: close with unread data (RFC 2525
/// 2.17, as Linux does) or close with SO_LINGER {1, 0}. The Linux server
/// checks that its recv fails with ECONNRESET.
struct Abort: ParsableCommand {
    enum How: String, ExpressibleByArgument, CaseIterable {
        case unread, linger
    }

    static let configuration = CommandConfiguration(
        abstract: "Receive from a server that sends SIZE bytes, then close with RST (unread data, or SO_LINGER {1, 0}).")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The server, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "unread: close while the server's bytes are still unread; linger: read them, set SO_LINGER {1, 0}, close.")
    var how: How = .unread

    @Option(help: "Bytes the server sends first.")
    var size: Int = 65_536

    func run() throws {
        let net = try TapStack(stackOptions)
        let socket = try Socket(.stream, on: net.core)
        var readable = 0
        do {
            try socket.setTimeouts(receive: 10, send: 10)
            try socket.connect(IPv4SocketAddress(to.address, to.port))
            switch how {
            case .unread:
                // Wait (bounded) until some of the server's bytes arrived, and read none of them.
                let start = TSCClock.monotonicNanoseconds()
                while readable == 0 && elapsedSeconds(since: start) < 10 {
                    net.core.runOnce()
                    readable = (try? socket.receive(maximum: 1, flags: [.peek, .dontWait]).bytes.count) ?? 0
                }
                guard readable > 0 else {
                    report("FAIL: abort: nothing arrived from \(to) within 10 s")
                    throw ExitCode.failure
                }
            case .linger:
                var received = 0
                while received < size {
                    let n = try socket.receive(maximum: 65_536).bytes.count
                    guard n > 0 else { break }
                    received += n
                }
                guard received == size else {
                    report("FAIL: abort: \(received) of \(size) bytes before the end of stream")
                    throw ExitCode.failure
                }
                try socket.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
            }
            try socket.close()
        } catch let error as SocketError {
            report("FAIL: abort: \(error)")
            throw ExitCode.failure
        }
        // Let the RST go out and the table settle.
        net.run(seconds: 2) { net.stack.tcpConnectionCount == 0 }
        report("ok: our close (\(how == .unread ? "with unread data" : "SO_LINGER {1, 0}")) reset the connection; "
               + net.tcpSummary)
    }
}
