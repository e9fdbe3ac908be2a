import CPlatform
import Glibc
import Logging
import Synchronization

/// The libraries' logs (swift-log): one line per message on standard error,
///
///     2026-12-06T20:31:02.114Z info dp-echo[4242] core 0 dataplane.ports: tap dp0 up ...
///
/// with the process name and pid and the Dataplane core of the calling
/// thread ("-" off the cores). The level is process-wide: DP_LOG_LEVEL
/// (trace, debug, info, notice, warning, error, critical; default notice),
/// or `--log-level` of the tools and dp_init. Nothing on the per-packet
/// path logs: it counts (StackCounters, PortStatistics), and telemetry reads them.
/// An explicit `--log-level` wins over DP_LOG_LEVEL (bootstrap first, then set `level`).
public enum DataplaneLog {
    private static let state = Mutex<Logger.Level>(.notice)
    private static let configured = Atomic<Bool>(false)
    private static let applicationHandler = Atomic<Bool>(false)

    /// The level every logger of the process uses.
    public static var level: Logger.Level {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    /// A logger for `label` ("dataplane.ports", ...) writing through
    /// DataplaneLogHandler (never through LoggingSystem.bootstrap, so an
    /// application that bootstraps swift-log itself is not in the way),
    /// unless the application asked for its own handler.
    public static func logger(_ label: String) -> Logger {
        bootstrap()
        if applicationHandler.load(ordering: .relaxed) { return Logger(label: label) }
        return Logger(label: label) { DataplaneLogHandler(label: $0) }
    }

    /// Reads DP_LOG_LEVEL (once). `useApplicationHandler: true` makes the
    /// libraries' loggers use the handler the application gave
    /// LoggingSystem.bootstrap instead of DataplaneLogHandler.
    public static func bootstrap(useApplicationHandler: Bool = false) {
        if useApplicationHandler { applicationHandler.store(true, ordering: .relaxed) }
        guard configured.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        if let text = getenv("DP_LOG_LEVEL").map({ String(cString: $0) }), let parsed = parseLevel(text) {
            level = parsed
        }
    }

    /// "warning", "WARN", "debug", ... or nil.
    public static func parseLevel(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "warn": .warning
        case "err": .error
        case "crit": .critical
        default: Logger.Level(rawValue: text.lowercased())
        }
    }

    /// The process's short name (comm), read once.
    public static let processName: String = {
        SystemFiles.readLine("/proc/self/comm") ?? "dataplane"
    }()
}

/// Writes each message as one line with one write(2) (no shared FILE, so
/// lines of several threads do not interleave).
public struct DataplaneLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// nil: the process-wide DataplaneLog.level.
    private var ownLevel: Logger.Level?

    public init(label: String) { self.label = label }

    public var logLevel: Logger.Level {
        get { ownLevel ?? DataplaneLog.level }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Self.line(level: event.level, label: label, message: "\(event.message)", metadata: merged,
                             core: Int(dp_current_core()))
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// One log line: time, level, process[pid], core (or "-"), label, message, metadata sorted by key.
    public static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, core: Int) -> String {
        var line = "\(timestamp()) \(level) \(DataplaneLog.processName)[\(getpid())] core \(core >= 0 ? "\(core)" : "-") \(label): \(message)"
        if !metadata.isEmpty {
            line += " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        return line + "\n"
    }

    /// UTC, milliseconds (ISO 8601).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
