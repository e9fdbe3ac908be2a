import Wire

/// One change to a stack's routes or neighbours, as the flags, a
/// configuration file and the C API give it (Docs/OPERATIONS.md "Routes"):
///
///     route add 10.2.0.0/24 via 10.1.0.1 [dev 0]
///     route add 10.3.0.0/16 dev 1
///     route add default via 10.1.0.254
///     route del 10.2.0.0/24 [via 10.1.0.1]
///     arp add 10.1.0.9 02:00:00:00:00:09 [dev 0]
///     arp del 10.1.0.9
///
/// (`add` may be left out; `neigh` is the same as `arp`; `dev` is a port index.)
public enum RouteCommand: Sendable, Equatable, CustomStringConvertible {
    case addRoute(IPv4Network, via: IPv4Address?, interface: Int?)
    case removeRoute(IPv4Network, via: IPv4Address?)
    case addNeighbour(IPv4Address, MACAddress, interface: Int?)
    case removeNeighbour(IPv4Address)

    /// Applies the change to `stack` (on its own thread).
    public func apply(to stack: NetStack) throws(StackError) {
        switch self {
        case .addRoute(let destination, let gateway, let interface):
            try stack.addRoute(destination, via: gateway, interface: interface)
        case .removeRoute(let destination, let gateway):
            try stack.removeRoute(destination, via: gateway)
        case .addNeighbour(let address, let mac, let interface):
            try stack.addNeighbour(address, at: mac, interface: interface)
        case .removeNeighbour(let address):
            try stack.removeNeighbour(address)
        }
    }

    public var description: String {
        switch self {
        case .addRoute(let destination, let gateway, let interface):
            "route add \(destination.prefixLength == 0 ? "default" : "\(destination.canonical)")"
                + (gateway.map { " via \($0)" } ?? "") + (interface.map { " dev \($0)" } ?? "")
        case .removeRoute(let destination, let gateway):
            "route del \(destination.canonical)" + (gateway.map { " via \($0)" } ?? "")
        case .addNeighbour(let address, let mac, let interface):
            "arp add \(address) \(mac)" + (interface.map { " dev \($0)" } ?? "")
        case .removeNeighbour(let address):
            "arp del \(address)"
        }
    }

    // MARK: Parsing

    /// Parses one line of the text form (see the type's comment).
    public init(parsing line: String) throws(StackError) {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let kind = words.first else { throw Self.bad(line, "empty") }
        words.removeFirst()
        var remove = false
        if let verb = words.first, verb == "add" || verb == "del" || verb == "delete" {
            remove = verb != "add"
            words.removeFirst()
        }
        switch kind {
        case "route": self = try Self.route(words, remove: remove, line)
        case "arp", "neigh", "neighbour":
            guard let address = words.first.flatMap(IPv4Address.init) else { throw Self.bad(line, "expected an address A.B.C.D") }
            if remove {
                guard words.count == 1 else { throw Self.bad(line, "'arp del' takes only the address") }
                self = .removeNeighbour(address)
                return
            }
            guard words.count >= 2, let mac = MACAddress(words[1]) else { throw Self.bad(line, "expected 'arp add A.B.C.D MAC [dev N]'") }
            let options = try Self.options(Array(words.dropFirst(2)), line)
            guard options.gateway == nil else { throw Self.bad(line, "'via' is for routes") }
            self = .addNeighbour(address, mac, interface: options.interface)
        default:
            throw Self.bad(line, "starts with 'route' or 'arp'")
        }
    }

    /// `--route` takes the words after `route add`; `--arp` takes IP=MAC.
    public init(routeFlag text: String) throws(StackError) { try self.init(parsing: "route add " + text) }

    public init(arpFlag text: String) throws(StackError) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw Self.bad(text, "--arp expects IP=MAC, e.g. 10.1.0.9=02:00:00:00:00:09") }
        try self.init(parsing: "arp add \(parts[0]) \(parts[1])")
    }

    /// Every command of a configuration file's text: one per line, `#` starts a comment.
    public static func parseFile(_ text: String) throws(StackError) -> [RouteCommand] {
        var commands: [RouteCommand] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) else { continue }
            do {
                commands.append(try RouteCommand(parsing: line.trimmingCharacters(in: "\r")))
            } catch {
                throw StackError(.invalidConfiguration, "line \(number + 1): \(error.description)")
            }
        }
        return commands
    }

    private static func route(_ words: [String], remove: Bool, _ line: String) throws(StackError) -> RouteCommand {
        guard let first = words.first else { throw bad(line, "expected a destination PREFIX or 'default'") }
        let destination: IPv4Network
        if first == "default" {
            destination = IPv4Network(address: .any, prefixLength: 0)!
        } else {
            guard let parsed = IPv4Network(first) else { throw bad(line, "'\(first)' is not A.B.C.D/PREFIX") }
            destination = parsed
        }
        let options = try options(Array(words.dropFirst()), line)
        if remove { return .removeRoute(destination, via: options.gateway) }
        guard options.gateway != nil || options.interface != nil else { throw bad(line, "a route needs 'via GATEWAY' or 'dev PORT'") }
        return .addRoute(destination, via: options.gateway, interface: options.interface)
    }

    private static func options(_ words: [String], _ line: String) throws(StackError) -> (gateway: IPv4Address?, interface: Int?) {
        var gateway: IPv4Address?
        var interface: Int?
        var i = 0
        while i < words.count {
            guard i + 1 < words.count else { throw bad(line, "'\(words[i])' needs a value") }
            switch words[i] {
            case "via":
                guard let address = IPv4Address(words[i + 1]) else { throw bad(line, "gateway '\(words[i + 1])' is not A.B.C.D") }
                gateway = address
            case "dev":
                guard let index = Int(words[i + 1]), index >= 0 else { throw bad(line, "dev '\(words[i + 1])' is not a port index (0, 1, ...)") }
                interface = index
            default:
                throw bad(line, "unknown word '\(words[i])' (expected via or dev)")
            }
            i += 2
        }
        return (gateway, interface)
    }

    private static func bad(_ line: String, _ why: String) -> StackError {
        StackError(.invalidConfiguration, "'\(line)': \(why)")
    }
}

private extension String {
    func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
