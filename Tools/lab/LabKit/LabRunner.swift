#if canImport(Glibc)
import Glibc
#endif

/// One guest run: what to boot and what to run in it.
public struct LabRunOptions: Sendable {
    public var nics: [LabNIC]
    public var access: LabAccess
    public var hugepages: Int = 128
    /// Host-side commands run in the namespace once the guest is ready.
    public var peers: [String] = []
    /// Wall-clock bound of the whole run, boot included.
    public var timeout: Double = 120
    /// A guest not ready this long after QEMU started has stalled in its
    /// boot (TCG on a loaded host: a soft lockup in the kernel's crypto
    /// self-tests was seen); it is stopped and booted once more if the
    /// timeout leaves room. Nil: a third of the timeout, 60-240 s (a quiet
    /// boot takes 12-20 s, a loaded one up to about a minute).
    public var bootLimit: Double?

    var effectiveBootLimit: Double { bootLimit ?? min(240, max(60, timeout / 3)) }
    public var command: [String]
    public var memoryMiB: Int = 2048
    public var cpus: Int = 2
    /// Show the kernel's boot messages too.
    public var verbose = false
    /// Show a progress line while the guest boots.
    public var progress = true

    public init(nics: [LabNIC], access: LabAccess, command: [String]) {
        self.nics = nics
        self.access = access
        self.command = command
    }
}

public struct LabRunResult: Sendable {
    /// The guest command's exit status; nil when the guest never said.
    public var status: Int32?
    /// Seconds from QEMU's start to the command's start.
    public var bootSeconds: Double?
    public var totalSeconds: Double
    public var timedOut = false
    public var interrupted = false
    /// The guest was not ready within the boot limit (on every attempt).
    public var bootStalled = false
    /// Boots tried: 2 when the first stalled and was retried.
    public var boots = 1
    /// Guest lines from /init on (markers removed).
    public var guestLines: [String] = []

    /// What dp-lab exits with: the command's status, or 124 on timeout,
    /// 130 on Ctrl-C, 125 when the guest ended without reporting one.
    public var exitCode: Int32 {
        if let status { return status }
        if interrupted { return 130 }
        return timedOut || bootStalled ? 124 : 125
    }
}

nonisolated(unsafe) var interruptSignal: sig_atomic_t = 0

public enum LabRunner {
    /// Ctrl-C and SIGTERM set a flag; the run loop sees it and tears down.
    public static func installSignalHandlers() {
        signal(SIGINT) { interruptSignal = $0 }
        signal(SIGTERM) { interruptSignal = $0 }
        signal(SIGHUP) { interruptSignal = $0 }
        signal(SIGPIPE, SIG_IGN)
    }

    public static var wasInterrupted: Bool { interruptSignal != 0 }

    /// Boots a guest, runs the command, streams guest lines to `onLine`
    /// and always tears down QEMU, peers, taps and the namespace.
    public static func run(
        _ options: LabRunOptions, artifacts: LabArtifacts,
        log: @escaping (String) -> Void, onLine: (String) -> Void
    ) throws(LabError) -> LabRunResult {
        try checkHost()
        let workDirectory = try makeWorkDirectory()
        defer { _ = try? Subprocess.run(["rm", "-rf", workDirectory]) }
        let initrd = try writeInitrd(options, artifacts: artifacts, in: workDirectory)

        var configuration = QEMUConfiguration(
            kernel: artifacts.kernel.vmlinuz, initrd: initrd, access: options.access, nics: options.nics)
        configuration.memoryMiB = options.memoryMiB
        configuration.cpus = options.cpus
        // The host side's handle on the devices (faults: Tools/lab/qmp.py); peers get it as DP_LAB_QMP.
        configuration.qmpSocket = workDirectory + "/qmp.sock"

        LabNamespace.removeStale(log: log)
        let namespace = try LabNamespace(nics: options.nics)
        defer { namespace.destroy() }
        let start = MonotonicClock.now
        var result = try boot(options, configuration, in: namespace, log: log, onLine: onLine)
        let elapsed = MonotonicClock.now - start
        // One more boot after a stall, within what is left of the timeout.
        if result.bootStalled, options.timeout - elapsed > options.effectiveBootLimit + 30 {
            log("dp-lab: booting once more")
            var retry = options
            retry.timeout = options.timeout - elapsed
            retry.bootLimit = options.effectiveBootLimit
            result = try boot(retry, configuration, in: namespace, log: log, onLine: onLine)
            result.boots = 2
        }
        result.totalSeconds = MonotonicClock.now - start
        return result
    }

    /// One QEMU process in the run's namespace, until the guest command
    /// reports, the timeout, the boot limit or Ctrl-C.
    private static func boot(
        _ options: LabRunOptions, _ configuration: QEMUConfiguration, in namespace: LabNamespace,
        log: @escaping (String) -> Void, onLine: (String) -> Void
    ) throws(LabError) -> LabRunResult {
        let start = MonotonicClock.now
        let qemu = try Subprocess(namespace.command(QEMUCommand.arguments(configuration)), captureOutput: true)
        var session = LabGuestSession(options: options, namespace: namespace, qemu: qemu, start: start, log: log)
        session.qmpSocket = configuration.qmpSocket
        defer { session.stopPeersAndQEMU() }
        while try session.step(onLine: onLine) {}
        return session.result
    }

    /// Root, for the namespace and taps, and the tun device.
    private static func checkHost() throws(LabError) {
        guard geteuid() == 0 else {
            throw LabError("dp-lab needs root for its network namespace and taps: run it as root (sudo)")
        }
        guard LabFiles.exists("/dev/net/tun") else {
            throw LabError("/dev/net/tun is missing: load the tun module (modprobe tun)")
        }
    }

    /// A fresh /tmp/dp-lab.XXXXXX directory for the run's files.
    private static func makeWorkDirectory() throws(LabError) -> String {
        var template = Array("/tmp/dp-lab.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw LabError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        return String(cString: made)
    }

    /// The cached initramfs with the run's configuration and command
    /// appended; returns its path.
    private static func writeInitrd(
        _ options: LabRunOptions, artifacts: LabArtifacts, in workDirectory: String
    ) throws(LabError) -> String {
        // The per-run archive goes after the cached one: the kernel unpacks both.
        var perRun = CPIOWriter()
        perRun.addDirectory("/lab")
        perRun.addFile("/lab/run.conf", contents: Array(InitScript.runConfiguration(
            modules: artifacts.moduleLoadOrder, hugepages: options.hugepages,
            access: options.access, nics: options.nics, timeoutSeconds: Int(options.timeout.rounded(.up))).utf8))
        perRun.addFile("/lab/command.sh", contents: Array(InitScript.commandScript(options.command).utf8), mode: 0o755)
        let initrd = workDirectory + "/initrd.cpio"
        try LabFiles.write(try LabFiles.read(artifacts.initramfs) + perRun.finish(), to: initrd)
        return initrd
    }
}

/// Splits a byte stream into lines (serial consoles end them with CR LF).
struct LineBuffer {
    private var pending = [UInt8]()
    private var lines = [String]()
    var open = true

    /// Reads what is there without blocking; false at end of stream.
    mutating func read(_ fd: Int32) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        var ready = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard Glibc.poll(&ready, 1, 0) > 0 else { return true }
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 { return errno == EINTR || errno == EAGAIN }
        if n == 0 {
            if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)); pending = [] }
            return false
        }
        for byte in chunk[0..<n] {
            if byte == 0x0a {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else if byte != 0x0d {
                pending.append(byte)
            }
        }
        return true
    }

    mutating func takeLines() -> [String] {
        defer { lines.removeAll() }
        return lines
    }
}

/// The boot progress line: rewritten in place on a terminal, two plain
/// lines otherwise.
final class Progress {
    private let enabled: Bool
    private let terminal = isatty(2) != 0
    private let log: (String) -> Void
    private var shown = false
    private var lastUpdate = 0.0
    private var announced = false

    init(enabled: Bool, log: @escaping (String) -> Void) {
        self.enabled = enabled
        self.log = log
    }

    func update(_ elapsed: Double, initStarted: Bool) {
        guard enabled else { return }
        if !terminal {
            if !announced { log("dp-lab: booting the guest (QEMU TCG)") }
            announced = true
            return
        }
        guard elapsed - lastUpdate >= 0.2 else { return }
        lastUpdate = elapsed
        let stage = initStarted ? "guest init running" : "booting the guest (QEMU TCG)"
        writeStandardError("\r\u{1b}[Kdp-lab: \(stage) \(format(elapsed)) s")
        shown = true
    }

    func clear() {
        guard shown else { return }
        writeStandardError("\r\u{1b}[K")
        shown = false
    }

    func ready(_ seconds: Double) {
        guard enabled else { return }
        log("dp-lab: guest ready in \(format(seconds)) s")
    }
}

/// Writes text to file descriptor 2 unbuffered.
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { if errno == EINTR { continue }; return }
        offset += n
    }
}
