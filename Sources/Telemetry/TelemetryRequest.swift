/// One command line: a path (`/ports/0/stats`) and `key=value` arguments;
/// `filter=` and `change=` take the rest of the line (a capture filter
/// and a route change have spaces).
public struct TelemetryRequest: Sendable, Equatable {
    public var path: [String]
    public var arguments: [String: String]
    /// A descriptor that came with the line (SCM_RIGHTS), owned by the
    /// handler that takes it; the server closes one nobody took.
    public var descriptor: Int32?

    public init(path: [String], arguments: [String: String] = [:], descriptor: Int32? = nil) {
        self.path = path
        self.arguments = arguments
        self.descriptor = descriptor
    }

    /// Parses a line; nil when it does not start with '/'.
    public init?(line: String, descriptor: Int32? = nil) {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        guard trimmed.first == "/" else { return nil }
        let command = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
        path = command.split(separator: "/").map(String.init)
        arguments = [:]
        var rest = Substring(trimmed.dropFirst(command.count))
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            if rest.isEmpty { break }
            if let key = Self.restOfLineKeys.first(where: { rest.hasPrefix($0 + "=") }) {
                arguments[key] = String(rest.dropFirst(key.count + 1)).trimmingSpaces()
                break
            }
            let word = rest.prefix(while: { $0 != " " && $0 != "\t" })
            rest = rest.dropFirst(word.count)
            if let equals = word.firstIndex(of: "=") {
                arguments[String(word[..<equals])] = String(word[word.index(after: equals)...])
            } else {
                arguments[String(word)] = ""
            }
        }
        self.descriptor = descriptor
    }

    /// Keys whose value is the rest of the line.
    static let restOfLineKeys = ["filter", "change"]

    public var pathText: String { "/" + path.joined(separator: "/") }

    /// The argument `key` as a non-negative integer: nil when absent, an
    /// error reply when malformed.
    public func integer(_ key: String) throws(TelemetryFailure) -> Int? {
        guard let text = arguments[key] else { return nil }
        guard let value = Int(text), value >= 0 else { throw TelemetryFailure("\(key)='\(text)': expected a number 0 or more") }
        return value
    }
}

/// A command that cannot be answered: the message becomes {"error": ...}.
public struct TelemetryFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " || $0 == "\n" || $0 == "\r" }).reversed())
    }
}
