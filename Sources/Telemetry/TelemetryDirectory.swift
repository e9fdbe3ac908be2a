import Glibc

/// Where telemetry sockets live: `/run/dataplane/<name>/telemetry.sock`,
/// the name being the process's name and pid unless given.
public enum TelemetryDirectory {
    public static let root = "/run/dataplane"
    public static let socketName = "telemetry.sock"

    /// `dp-echo-1234` for dp-echo with pid 1234.
    public static func defaultName(processName: String? = nil) -> String {
        let name = processName ?? currentProcessName()
        return "\(name)-\(getpid())"
    }

    public static func socketPath(name: String) -> String { "\(root)/\(name)/\(socketName)" }

    /// A name is one path component: letters, digits, '-', '_', '.'.
    public static func validationError(name: String) -> String? {
        if name.isEmpty || name.count > 64 { return "telemetry name '\(name)': use 1...64 characters" }
        if name == "." || name == ".." { return "telemetry name '\(name)' is not a directory name" }
        let allowed = name.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_" || c == "."
        }
        return allowed ? nil : "telemetry name '\(name)': use letters, digits, '-', '_' and '.'"
    }

    /// The names with a socket under the root, sorted.
    public static func names() -> [String] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            var info = stat()
            if stat(socketPath(name: name), &info) == 0 { names.append(name) }
        }
        return names.sorted()
    }

    /// The program's name from /proc/self/comm (no Foundation).
    static func currentProcessName() -> String {
        let descriptor = open("/proc/self/comm", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "dataplane" }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(descriptor, &buffer, buffer.count)
        guard n > 0 else { return "dataplane" }
        let name = String(decoding: buffer[0..<n].prefix(while: { $0 != 10 && $0 != 0 }), as: UTF8.self)
        let cleaned = String(name.map { c in c.isLetter || c.isNumber || c == "-" || c == "_" || c == "." ? c : "_" })
        return cleaned.isEmpty ? "dataplane" : cleaned
    }
}

extension TelemetryDirectory {
    /// The pid a process reports in its /info reply, or nil when it does not answer.
    public static func pid(name: String) -> Int? {
        guard let client = try? TelemetryClient(name: name), let line = try? client.request("/info") else { return nil }
        // {"process":..., "pid":N, ...}: the number after the key (no JSON parser here).
        let parts = line.split(separator: "\"pid\":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return Int(parts[1].prefix(while: { $0.isNumber }))
    }

    /// The socket name for `target`: a name under the root, or the pid of a
    /// process serving one.
    public static func resolve(_ target: String) throws(TelemetryFailure) -> String {
        let all = names()
        if all.contains(target) { return target }
        if let wanted = Int(target) {
            if let name = all.first(where: { pid(name: $0) == wanted }) { return name }
            throw TelemetryFailure("no data-plane process with pid \(wanted) serves telemetry under \(root) (dp-stat lists them)")
        }
        throw TelemetryFailure("no telemetry socket named '\(target)' under \(root) (have: \(all.isEmpty ? "none" : all.joined(separator: ", ")))")
    }
}
