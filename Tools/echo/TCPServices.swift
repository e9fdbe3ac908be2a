import Foundation
import Glibc
import Sockets
import Wire
import SystemPackage

/// TCP echo, discard and the one-way sink and source (TCPOneWay) through
/// the socket layer, non-blocking: each poll turn accepts what is waiting
/// and serves every connection once.
final class TCPServices {
    struct Connection {
        var socket: Socket
        var echo: Bool
        /// Received and not yet echoed (echo only): `pending` bytes from
        /// `start`; new bytes land after them.
        var buffer: UnsafeMutableRawBufferPointer
        var start = 0
        var pending = 0
        /// The sink or source of a one-way transfer, else nil.
        var oneWay: TCPOneWay?
    }

    let core: SocketCore
    var listeners: [(socket: Socket, echo: Bool, oneWay: TCPOneWay.Role?)] = []
    var connections: [Int32: Connection] = [:]
    var closed: [Int32] = []
    private(set) var accepted: UInt64 = 0
    private(set) var bytesEchoed: UInt64 = 0
    /// Echo sends the send ring took only part of, and the bytes moved to
    /// the front of an echo buffer to make room (see `compact`).
    private(set) var partialSends: UInt64 = 0
    private(set) var bytesCompacted: UInt64 = 0
    private(set) var bytesDiscarded: UInt64 = 0
    static let bufferSize = 64 * 1024
    /// The sink's storage between transfers (made when a sink port is served).
    private let sinkStorage: SinkStorage?

    /// `dualStack`: AF_INET6 listeners on [::]:port, which take IPv4
    /// clients as v4-mapped peers too (RFC 3493 §3.7).
    init(core: SocketCore, echoPorts: [UInt16], discardPorts: [UInt16], sinkPorts: [UInt16] = [], sourcePorts: [UInt16] = [],
         dualStack: Bool = false, socketBuffer: Int32? = nil) throws(SocketError) {
        self.core = core
        sinkStorage = sinkPorts.isEmpty ? nil : SinkStorage()
        let services: [([UInt16], Bool, TCPOneWay.Role?)] =
            [(echoPorts, true, nil), (discardPorts, false, nil), (sinkPorts, false, .sink), (sourcePorts, false, .source)]
        for (ports, echo, oneWay) in services {
            for port in ports {
                let listener = try Socket(.stream, family: dualStack ? .inet6 : .inet, on: core, nonBlocking: true)
                try listener.setOption(level: SOL_SOCKET, name: SO_REUSEADDR, 1)
                // Every core listens on the port (--cores N).
                try listener.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, 1)
                // Accepted connections take the listener's buffer sizes.
                if let socketBuffer {
                    try listener.setOption(level: SOL_SOCKET, name: SO_SNDBUF, socketBuffer)
                    try listener.setOption(level: SOL_SOCKET, name: SO_RCVBUF, socketBuffer)
                }
                if dualStack {
                    try listener.bind(IPv6SocketAddress(.unspecified, port))
                } else {
                    try listener.bind(port: port)
                }
                try listener.listen(backlog: 1024)
                listeners.append((listener, echo, oneWay))
            }
        }
    }

    deinit {
        for connection in connections.values {
            try? connection.socket.close()
            connection.buffer.deallocate()
        }
    }

    /// One turn: accept, then read (and echo) on every connection. Returns the work done.
    func serve() -> Int {
        var work = 0
        for (listener, echo, oneWay) in listeners {
            while let (socket, _) = try? listener.accept() {
                try? socket.setNonBlocking(true)
                try? socket.setOption(level: Int32(IPPROTO_TCP), name: TCP_NODELAY, 1)
                connections[socket.descriptor] = Connection(
                    socket: socket, echo: echo,
                    buffer: .allocate(byteCount: Self.bufferSize, alignment: 16),
                    oneWay: oneWay.map { TCPOneWay(role: $0, sinkStorage: sinkStorage) })
                accepted += 1
                work += 1
            }
        }
        for (descriptor, var connection) in connections {
            if serve(&connection) {
                connections[descriptor] = connection
            } else {
                closed.append(descriptor)
            }
        }
        for descriptor in closed {
            if let connection = connections.removeValue(forKey: descriptor) {
                try? connection.socket.close()
                connection.buffer.deallocate()
            }
            work += 1
        }
        closed.removeAll(keepingCapacity: true)
        return work
    }

    /// Makes room for receiving when the buffer's tail is full. A partial
    /// send used to move the whole unsent rest to the front every time (up
    /// to 64 KiB per ACK-paced send while the send ring was full); now bytes
    /// move only when at most half the buffer is left unsent, so no more is
    /// moved than was sent.
    /// Returns the bytes moved.
    static func compact(_ connection: inout Connection) -> Int {
        if connection.pending == 0 {
            connection.start = 0
        } else if connection.start + connection.pending == connection.buffer.count
                    && connection.pending <= connection.buffer.count / 2 {
            let base = connection.buffer.baseAddress!
            base.copyMemory(from: base + connection.start, byteCount: connection.pending)
            connection.start = 0
            return connection.pending
        }
        return 0
    }

    /// False when the connection is finished (end of stream or error).
    private func serve(_ connection: inout Connection) -> Bool {
        if let oneWay = connection.oneWay {
            do {
                return try oneWay.serve(connection.socket, core)
            } catch {
                if error.errno != .resourceTemporarilyUnavailable { return ended(connection, "\(oneWay.role)", error.errno) }
                return true
            }
        }
        let free = UnsafeMutableRawBufferPointer(rebasing: connection.buffer[(connection.start + connection.pending)...])
        if free.count > 0 {
            do {
                let n = try connection.socket.receive(into: free).count
                if n == 0 && connection.pending == 0 { return false }
                if connection.echo { connection.pending += n } else { bytesDiscarded += UInt64(n) }
                if n == 0 && !connection.echo { return false }
            } catch {
                if error.errno != .resourceTemporarilyUnavailable { return ended(connection, "receive", error.errno) }
            }
        }
        if connection.pending > 0 {
            do {
                let unsent = connection.buffer[connection.start..<(connection.start + connection.pending)]
                let sent = try core.send(connection.socket.descriptor, UnsafeRawBufferPointer(rebasing: unsent),
                                         flags: .noSignal)
                bytesEchoed += UInt64(sent)
                connection.start += sent
                connection.pending -= sent
                if connection.pending > 0 { partialSends += 1 }
                bytesCompacted += UInt64(Self.compact(&connection))
            } catch {
                if error.errno != .resourceTemporarilyUnavailable { return ended(connection, "send", error.errno) }
            }
        }
        return true
    }

    /// A connection ended by an error: said (what the application saw), then closed.
    private func ended(_ connection: Connection, _ call: String, _ errno: Errno) -> Bool {
        let line = "dp-echo: tcp connection \(connection.socket.descriptor): \(call) failed: \(errno) (errno \(errno.rawValue))\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        return false
    }
}
