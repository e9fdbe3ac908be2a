import Foundation
import Telemetry

/// Finds a process's telemetry socket by name or pid, and lists them.
enum StatTarget {
    struct Listed {
        var name: String
        var pid: Int?
        var process: String?
        var alive: Bool
    }

    /// Every socket under /run/dataplane, asked for /info (a dead one is "stale").
    static func list() -> [Listed] {
        TelemetryDirectory.names().map { name in
            guard let client = try? TelemetryClient(name: name), let line = try? client.request("/info"),
                  let info = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return Listed(name: name, pid: nil, process: nil, alive: false)
            }
            return Listed(name: name, pid: info["pid"] as? Int, process: info["process"] as? String, alive: true)
        }
    }

    /// The socket name for `target`: a name as listed, or a pid.
    static func resolve(_ target: String) throws -> String {
        try TelemetryDirectory.resolve(target)
    }
}

struct StatError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One connection to a process, replies parsed.
final class StatConnection {
    let client: TelemetryClient

    init(name: String) throws {
        client = try TelemetryClient(name: name)
    }

    /// The reply to `command`, parsed; an {"error": ...} reply is thrown.
    func ask(_ command: String) throws -> Any {
        let line = try client.request(command)
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        if let object = value as? [String: Any], let error = object["error"] as? String {
            throw StatError("\(command): \(error)")
        }
        return value
    }

    func raw(_ command: String) throws -> String { try client.request(command) }
}
