#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, in a process group of its own
/// so that the terminal's Ctrl-C reaches only dp-lab, which then tears the
/// run down in order.
public final class Subprocess {
    public let pid: pid_t
    /// The read end of the child's stdout+stderr pipe, when captured.
    public let outputFD: Int32?
    private var exitStatus: Int32?

    /// Starts `arguments[0]` (searched in PATH). With `captureOutput`, its
    /// stdout and stderr go to `outputFD`; otherwise they are inherited.
    public init(_ arguments: [String], captureOutput: Bool = false, stdinNull: Bool = true) throws(LabError) {
        precondition(!arguments.isEmpty)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        if stdinNull { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        var pipeFDs: [Int32] = [-1, -1]
        if captureOutput {
            guard pipe(&pipeFDs) == 0 else { throw LabError("pipe: \(String(cString: strerror(errno)))") }
            // Only the child's dup2 copies survive exec.
            _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        }
        var pid: pid_t = 0
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, cArguments, environ)
        if captureOutput { close(pipeFDs[1]) }
        guard result == 0 else {
            if captureOutput { close(pipeFDs[0]) }
            throw LabError("cannot start \(arguments[0]): \(String(cString: strerror(result))) (is it installed? Tools/bootstrap.sh installs the lab's packages)")
        }
        self.pid = pid
        outputFD = captureOutput ? pipeFDs[0] : nil
    }

    deinit { if let outputFD { close(outputFD) } }

    /// The exit status if the child has ended (128+N for signal N), without waiting.
    public func poll() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        exitStatus = Self.decode(status)
        return exitStatus
    }

    /// Waits for the child to end.
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exitStatus = Self.decode(status)
        return exitStatus!
    }

    /// Sends `signal` to the child's whole process group (the group is the
    /// child's own, made at spawn), unless it has been reaped already.
    public func signalGroup(_ signal: Int32) {
        guard poll() == nil else { return }
        kill(-pid, signal)
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaps the child.
    public func terminate(grace: Double = 2) {
        guard poll() == nil else { return }
        signalGroup(SIGTERM)
        let deadline = MonotonicClock.now + grace
        while MonotonicClock.now < deadline {
            if poll() != nil { return }
            usleep(20_000)
        }
        signalGroup(SIGKILL)
        wait()
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs a command to completion and returns its status and output.
    public static func run(_ arguments: [String]) throws(LabError) -> (status: Int32, output: String) {
        let process = try Subprocess(arguments, captureOutput: true)
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Ctrl-C stops a long step (a build) too, not only the guest.
            if interruptSignal != 0 {
                process.terminate()
                throw LabError("interrupted while running \(arguments[0])")
            }
            var ready = [pollfd(fd: process.outputFD!, events: Int16(POLLIN), revents: 0)]
            if Glibc.poll(&ready, 1, 200) == 0 { continue }
            let n = chunk.withUnsafeMutableBytes { read(process.outputFD!, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        let status = process.wait()
        return (status, String(decoding: bytes, as: UTF8.self))
    }

    /// Runs a command that must succeed; throws with its output otherwise.
    @discardableResult
    public static func check(_ arguments: [String]) throws(LabError) -> String {
        let (status, output) = try run(arguments)
        guard status == 0 else {
            throw LabError("`\(arguments.joined(separator: " "))` failed with status \(status): \(output.trimmingWhitespace())")
        }
        return output
    }
}

/// Seconds on CLOCK_MONOTONIC.
public enum MonotonicClock {
    public static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
