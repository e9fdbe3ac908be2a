import Atomics
import CPlatform
import Glibc
import Platform

/// The listening side of a process's telemetry socket: a thread of its own
/// (never a core's) accepts clients, reads command lines and writes one
/// JSON line back per command. What the answers read from the cores is
/// the router's business (see DataplaneTelemetry: the cores answer through
/// their mailboxes, between bursts).
public final class TelemetryServer: @unchecked Sendable {
    public let name: String
    public let path: String
    let router: TelemetryRouter
    let listener: Int32
    let stopping = ManagedAtomic<Bool>(false)
    let stopped = ManagedAtomic<Bool>(false)
    /// The process serving; a child made by fork() has the descriptor but not the thread.
    let owner = getpid()

    /// Makes `/run/dataplane/<name>/`, binds the socket and starts serving.
    /// A socket left by a process that died is replaced; one that answers
    /// is an error (the name is in use).
    public init(name: String, router: TelemetryRouter) throws(TelemetryFailure) {
        if let message = TelemetryDirectory.validationError(name: name) { throw TelemetryFailure(message) }
        self.name = name
        self.router = router
        path = TelemetryDirectory.socketPath(name: name)
        let directory = "\(TelemetryDirectory.root)/\(name)"
        _ = mkdir(TelemetryDirectory.root, 0o755)
        // Only the process's user may connect: a command can make the
        // process write a file (/capture/start file=...).
        _ = mkdir(directory, 0o700)
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw TelemetryFailure("cannot make \(directory): \(String(cString: strerror(errno)))")
        }
        if let probe = try? TelemetryClient(path: path) {
            probe.close()
            throw TelemetryFailure("telemetry name '\(name)' is in use by a running process (\(path))")
        }
        unlink(path)
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw TelemetryFailure("socket: \(String(cString: strerror(errno)))") }
        var address = try Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, listen(socket, 16) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(socket)
            throw TelemetryFailure("cannot listen on \(path): \(message)")
        }
        listener = socket
        do {
            try ServiceThread(name: "dp-telemetry") { [self] in serve() }.detach()
        } catch {
            Glibc.close(socket)
            unlink(path)
            throw TelemetryFailure("cannot start the telemetry thread: \(error)")
        }
    }

    static func address(_ path: String) throws(TelemetryFailure) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw TelemetryFailure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Stops serving and removes the socket and its directory (waits up to
    /// a second for the thread).
    public func stop() {
        guard getpid() == owner else { return }
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for _ in 0..<100 where !stopped.load(ordering: .acquiring) {
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
        }
        unlink(path)
        rmdir("\(TelemetryDirectory.root)/\(name)")
    }

    // MARK: The thread

    private final class Client {
        let socket: Int32
        var input: [UInt8] = []
        var descriptor: Int32?
        init(socket: Int32) { self.socket = socket }
    }

    private func serve() {
        var clients: [Client] = []
        defer {
            for client in clients { closeClient(client) }
            Glibc.close(listener)
            stopped.store(true, ordering: .releasing)
        }
        while !stopping.load(ordering: .acquiring) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                + clients.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            // A short timeout: stop() is seen within it.
            guard poll(&fds, nfds_t(fds.count), 100) > 0 else { continue }
            // The clients polled; one accepted below waits for the next round.
            let polled = clients
            if fds[0].revents & Int16(POLLIN) != 0, clients.count < 64 {
                let socket = accept(listener, nil, nil)
                if socket >= 0 {
                    _ = fcntl(socket, F_SETFD, FD_CLOEXEC)
                    // A client that stops reading cannot hold the thread.
                    var timeout = timeval(tv_sec: 2, tv_usec: 0)
                    setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    clients.append(Client(socket: socket))
                }
            }
            var closed: Set<Int32> = []
            for (i, client) in polled.enumerated() where fds[i + 1].revents != 0 {
                if !readAndAnswer(client) { closed.insert(client.socket) }
            }
            for client in clients where closed.contains(client.socket) { closeClient(client) }
            clients.removeAll { closed.contains($0.socket) }
        }
    }

    private func closeClient(_ client: Client) {
        if let descriptor = client.descriptor { Glibc.close(descriptor) }
        Glibc.close(client.socket)
    }

    /// Reads what the client sent and answers every complete line; false
    /// when the client is gone or misbehaves.
    private func readAndAnswer(_ client: Client) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var descriptor: Int32 = -1
        let n = buffer.withUnsafeMutableBytes { dp_receive_with_fd(client.socket, $0.baseAddress, $0.count, &descriptor) }
        if descriptor >= 0 {
            if let old = client.descriptor { Glibc.close(old) }
            client.descriptor = descriptor
        }
        guard n > 0 else { return false }
        client.input += buffer[0..<n]
        guard client.input.count <= 65_536 else {
            _ = send(client, .error("command line longer than 64 KiB"))
            return false
        }
        while let newline = client.input.firstIndex(of: 10) {
            let line = String(decoding: client.input[..<newline], as: UTF8.self)
            client.input.removeSubrange(...newline)
            if line.trimmingSpaces().isEmpty { continue }
            // The descriptor goes with the first command after it arrived.
            let given = client.descriptor
            client.descriptor = nil
            var reply = router.reply(to: line, descriptor: given)
            if let given, !descriptorTaken(reply) {
                Glibc.close(given)
                if case .object(var members) = reply, !members.contains(where: { $0.0 == "error" }) {
                    members.append(("note", "the descriptor sent with this command was not used and is closed"))
                    reply = .object(members)
                }
            }
            guard send(client, reply) else { return false }
        }
        return true
    }

    /// Handlers that keep the descriptor say so with "descriptorTaken": true.
    private func descriptorTaken(_ reply: JSONValue) -> Bool {
        guard case .object(let members) = reply else { return false }
        return members.contains { $0.0 == "descriptorTaken" && $0.1 == .bool(true) }
    }

    private func send(_ client: Client, _ reply: JSONValue) -> Bool {
        let bytes = Array((reply.serialized + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(client.socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
