import CPlatform
import Glibc

/// The asking side (dp-stat, dp-dumpcap, tests): one connection, one JSON
/// line back per command.
public final class TelemetryClient {
    let socket: Int32
    private var input: [UInt8] = []
    private var isClosed = false

    /// Connects to the socket at `path`.
    public init(path: String) throws(TelemetryFailure) {
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw TelemetryFailure("socket: \(String(cString: strerror(errno)))") }
        var address = try TelemetryServer.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(socket)
            throw TelemetryFailure("cannot connect to \(path): \(message)")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
    }

    /// Connects to the process named `name` under /run/dataplane.
    public convenience init(name: String) throws(TelemetryFailure) {
        try self.init(path: TelemetryDirectory.socketPath(name: name))
    }

    deinit { close() }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(socket)
    }

    /// Sends `command` (with `descriptor` attached when given) and returns
    /// the reply line (JSON text).
    public func request(_ command: String, descriptor: Int32? = nil) throws(TelemetryFailure) -> String {
        let bytes = Array((command + "\n").utf8)
        let sent = bytes.withUnsafeBytes { dp_send_with_fd(socket, $0.baseAddress, $0.count, descriptor ?? -1) }
        guard sent == bytes.count else { throw TelemetryFailure("cannot send to the process: \(String(cString: strerror(errno)))") }
        return try readLine()
    }

    private func readLine() throws(TelemetryFailure) -> String {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let newline = input.firstIndex(of: 10) {
                let line = String(decoding: input[..<newline], as: UTF8.self)
                input.removeSubrange(...newline)
                return line
            }
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw TelemetryFailure(n == 0 ? "the process closed the connection" : "no answer: \(String(cString: strerror(errno)))") }
            input += buffer[0..<n]
        }
    }
}
