import ArgumentParser
import Foundation
import Glibc
import Platform
import Sockets
import SystemPackage

/// Many connections at once from our side: non-blocking connects, an
/// interest set (epoll's shape) for readiness, each connection sending its
/// own content and reading the echo back.
struct Concurrent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open COUNT connections at once to an echo server; each echoes SIZE distinct bytes.")

    @OptionGroup var stackOptions: TapStackOptions

    @Option(help: "The echo server, A.B.C.D:PORT.")
    var to: PeerAddress

    @Option(help: "Connections open at once.")
    var count: Int = 1000

    @Option(help: "Bytes each connection sends and reads back.")
    var size: Int = 4096

    @Option(help: "Give up after this many seconds.")
    var seconds: Double = 60

    struct Connection {
        var socket: Socket
        var payload: [UInt8]
        var sent = 0
        var back: [UInt8] = []
        var connected = false
    }

    func validate() throws {
        guard count > 0, size > 0 else { throw ValidationError("--count and --size must be positive") }
    }

    func run() throws {
        let net = try TapStack(stackOptions)
        let peer = IPv4SocketAddress(to.address, to.port)
        let interest = net.core.makeInterestSet()
        var connections: [Int32: Connection] = [:]
        let start = TSCClock.monotonicNanoseconds()
        func failed(_ message: String) -> ExitCode {
            report("FAIL: concurrent: \(message) (\(connections.count) still open; \(net.tcpSummary))")
            return ExitCode.failure
        }
        for index in 0..<count {
            let socket = try Socket(.stream, on: net.core, nonBlocking: true)
            do {
                try socket.connect(peer)
            } catch where error.errno == .nowInProgress {
            } catch {
                throw failed("connect \(index): \(error)")
            }
            // Distinct content per connection: its index in every 4-byte word, mixed with the offset.
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: (index >> (8 * ($0 & 3))) ^ ($0 >> 2)) }
            connections[socket.descriptor] = Connection(socket: socket, payload: payload)
            try interest.add(socket.descriptor, events: [.output, .input])
        }
        var done = 0
        var events = [SocketInterestSet.Event](repeating: .init(), count: 256)
        while done < count {
            guard elapsedSeconds(since: start) < seconds else {
                throw failed("\(done) of \(count) connections echoed within \(seconds) s")
            }
            let ready = try events.withUnsafeMutableBufferPointer { (buffer) throws(SocketError) in
                try interest.wait(into: buffer, timeoutMilliseconds: 1000)
            }
            for event in events[0..<ready] {
                guard var connection = connections[event.descriptor] else { continue }
                let socket = connection.socket
                if event.events.contains(.error) {
                    let error = (try? socket.option(level: SOL_SOCKET, name: SO_ERROR)) ?? -1
                    throw failed("connection \(event.descriptor): error \(String(cString: strerror(error)))")
                }
                if event.events.contains(.output) && connection.sent < connection.payload.count {
                    connection.connected = true
                    do {
                        connection.sent += try socket.send(connection.payload[connection.sent...], flags: .noSignal)
                    } catch where error.errno == .resourceTemporarilyUnavailable {
                    } catch {
                        throw failed("send: \(error)")
                    }
                    if connection.sent == connection.payload.count { try interest.modify(socket.descriptor, events: [.input]) }
                }
                if event.events.contains(.input) {
                    var chunk: [UInt8]? = nil
                    do {
                        chunk = try socket.receive(maximum: 65_536).bytes
                    } catch where error.errno == .resourceTemporarilyUnavailable {
                    } catch {
                        throw failed("recv: \(error)")
                    }
                    if let chunk {
                        if chunk.isEmpty {
                            throw failed("end of stream after \(connection.back.count) of \(size) echoed bytes")
                        }
                        connection.back += chunk
                    }
                }
                if connection.back.count >= size {
                    guard connection.back == connection.payload else { throw failed("an echo differs from what was sent") }
                    try socket.close()
                    connections[event.descriptor] = nil
                    done += 1
                } else {
                    connections[event.descriptor] = connection
                }
            }
        }
        let elapsed = elapsedSeconds(since: start)
        net.run(seconds: 3) { net.stack.tcpConnectionCount == 0 }
        report("ok: our client: \(count) concurrent connections echoed \(size) bytes each, byte-exact, in "
               + "\(String(format: "%.1f", elapsed)) s; \(net.tcpSummary)")
    }
}
