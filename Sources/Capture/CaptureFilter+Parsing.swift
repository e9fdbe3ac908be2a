import Wire

/// A filter expression that did not parse: where, and what was expected.
public struct CaptureFilterError: Error, CustomStringConvertible, Equatable, Sendable {
    public var expression: String
    public var position: Int
    public var reason: String
    public var description: String { "capture filter '\(expression)': at word \(position + 1): \(reason)" }
}

extension CaptureFilter {
    /// Parses `host A.B.C.D`, `port N` (each with an optional `src`/`dst`),
    /// `tcp`, `udp`, `icmp`, `arp`, `ip`, joined by `and`/`&&`, `or`/`||`,
    /// `not`/`!` and parentheses; `and` binds tighter than `or`. An empty
    /// text is the filter that passes everything.
    public init(parsing text: String) throws(CaptureFilterError) {
        var parser = FilterParser(text: text)
        if parser.words.isEmpty {
            self = .all
            return
        }
        self = try parser.parseOr()
        if parser.index < parser.words.count {
            throw parser.error("unexpected '\(parser.words[parser.index])' (expected and, or, or the end)")
        }
    }
}

private struct FilterParser {
    let text: String
    var words: [String]
    var index = 0

    init(text: String) {
        self.text = text
        var spaced = text
        for symbol in ["(", ")", "!"] { spaced = spaced.replacingAll(symbol, with: " \(symbol) ") }
        words = spaced.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        // The symbol spellings are synonyms of the words.
        words = words.map { $0 == "&&" ? "and" : $0 == "||" ? "or" : $0 == "!" ? "not" : $0.lowercased() }
    }

    func error(_ reason: String) -> CaptureFilterError {
        CaptureFilterError(expression: text, position: index, reason: reason)
    }

    var peek: String? { index < words.count ? words[index] : nil }

    mutating func next(_ expected: String) throws(CaptureFilterError) -> String {
        guard let word = peek else { throw error("expected \(expected), found the end") }
        index += 1
        return word
    }

    mutating func parseOr() throws(CaptureFilterError) -> CaptureFilter {
        var left = try parseAnd()
        while peek == "or" {
            index += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(CaptureFilterError) -> CaptureFilter {
        var left = try parseUnary()
        while peek == "and" {
            index += 1
            left = .and(left, try parseUnary())
        }
        return left
    }

    mutating func parseUnary() throws(CaptureFilterError) -> CaptureFilter {
        let word = try next("a primitive (host, port, tcp, udp, icmp, arp, ip), 'not' or '('")
        switch word {
        case "not": return .not(try parseUnary())
        case "(":
            let inner = try parseOr()
            guard try next("')'") == ")" else {
                index -= 1
                throw error("expected ')'")
            }
            return inner
        case "src", "dst":
            let side: CaptureFilter.Side = word == "src" ? .source : .destination
            let kind = try next("host or port after '\(word)'")
            switch kind {
            case "host": return .host(try address(), side)
            case "port": return .port(try port(), side)
            default:
                index -= 1
                throw error("expected host or port after '\(word)', found '\(kind)'")
            }
        case "host": return .host(try address(), .either)
        case "port": return .port(try port(), .either)
        case "tcp": return .transport(.tcp)
        case "udp": return .transport(.udp)
        case "icmp": return .transport(.icmp)
        case "arp": return .arp
        case "ip": return .ip
        default:
            index -= 1
            throw error("unknown primitive '\(word)' (known: host, src/dst host, port, src/dst port, tcp, udp, icmp, arp, ip)")
        }
    }

    mutating func address() throws(CaptureFilterError) -> IPv4Address {
        let word = try next("an address A.B.C.D")
        guard let address = IPv4Address(word) else {
            index -= 1
            throw error("'\(word)' is not an IPv4 address A.B.C.D")
        }
        return address
    }

    mutating func port() throws(CaptureFilterError) -> UInt16 {
        let word = try next("a port number 0...65535")
        guard let port = UInt16(word) else {
            index -= 1
            throw error("'\(word)' is not a port number 0...65535")
        }
        return port
    }
}

private extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
