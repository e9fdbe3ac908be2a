import Synchronization

/// Commands by path. A pattern segment `#` matches a number (a port or core
/// index); the handler gets the whole request. `/` lists the commands.
public final class TelemetryRouter: @unchecked Sendable {
    public typealias Handler = @Sendable (TelemetryRequest) throws(TelemetryFailure) -> JSONValue

    private struct Route {
        var pattern: [String]
        var help: String
        var handler: Handler
    }

    private let routes = Mutex<[Route]>([])

    public init() {}

    /// Adds `path` (e.g. "/ports/#/stats") with a line of help.
    public func add(_ path: String, help: String, _ handler: @escaping Handler) {
        let pattern = path.split(separator: "/").map(String.init)
        routes.withLock { $0.append(Route(pattern: pattern, help: help, handler: handler)) }
    }

    /// Forgets every command (their handlers hold what they read: this lets it go).
    public func removeAll() {
        routes.withLock { $0.removeAll() }
    }

    /// The reply to one line: the handler's JSON, or {"error": ...}.
    public func reply(to line: String, descriptor: Int32? = nil) -> JSONValue {
        guard let request = TelemetryRequest(line: line, descriptor: descriptor) else {
            return .error("commands start with '/': send / for the list")
        }
        return reply(to: request)
    }

    public func reply(to request: TelemetryRequest) -> JSONValue {
        let all = routes.withLock { $0 }
        if request.path.isEmpty {
            return ["commands": .array(all.map { route in
                ["command": .string("/" + route.pattern.joined(separator: "/")), "help": .string(route.help)]
            })]
        }
        guard let route = all.first(where: { Self.matches($0.pattern, request.path) }) else {
            return .error("unknown command \(request.pathText): send / for the list")
        }
        do {
            return try route.handler(request)
        } catch {
            return .error(error.description)
        }
    }

    static func matches(_ pattern: [String], _ path: [String]) -> Bool {
        guard pattern.count == path.count else { return false }
        for (want, have) in zip(pattern, path) {
            if want == "#" {
                guard Int(have).map({ $0 >= 0 }) == true else { return false }
            } else if want != have {
                return false
            }
        }
        return true
    }
}
