/// What to capture: which ports, how much of each packet, how many
/// packets, which ones.
public struct CaptureConfiguration: Sendable, Equatable {
    /// Port indexes to capture (nil: every port).
    public var ports: Set<Int>?
    /// Bytes kept of each packet (the rest is counted in the original length).
    public var snapLength: Int
    /// Stop after this many packets (nil: until stopped).
    public var packetLimit: Int?
    public var filter: CaptureFilter
    /// Bytes of buffer per core between the core and the writer thread; a
    /// burst larger than what the writer drains between its rounds is dropped.
    public var ringBytes: Int

    public static let defaultSnapLength = 262_144
    public static let maximumSnapLength = 262_144

    public init(ports: Set<Int>? = nil, snapLength: Int = CaptureConfiguration.defaultSnapLength, packetLimit: Int? = nil,
                filter: CaptureFilter = .all, ringBytes: Int = 8 << 20) {
        self.ports = ports
        self.snapLength = snapLength
        self.packetLimit = packetLimit
        self.filter = filter
        self.ringBytes = ringBytes
    }

    /// A clear message for values out of range, or nil.
    public func validationError() -> String? {
        if !(1...Self.maximumSnapLength).contains(snapLength) { return "snap length \(snapLength): use 1...\(Self.maximumSnapLength)" }
        if let packetLimit, packetLimit < 1 { return "packet count \(packetLimit): use 1 or more" }
        if ringBytes < 1 << 16 { return "ring of \(ringBytes) bytes: use at least 64 KiB" }
        if let ports, ports.contains(where: { $0 < 0 }) { return "port index must be 0 or more" }
        return nil
    }
}

/// `PORT:FILE` as `--capture` takes it: PORT is a port index, a port's
/// name (as the tool labels it), or `all`.
public struct CaptureTarget: Sendable, Equatable {
    public var port: String
    public var file: String

    /// Split at the last colon: a PCI port name has colons, a file name
    /// (here) must not.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        port = String(text[..<colon])
        file = String(text[text.index(after: colon)...])
        guard !port.isEmpty, !file.isEmpty else { return nil }
    }

    public static let expected = "PORT:FILE (PORT: a port index, a port name such as dp0, or all; FILE without ':')"

    /// The port indexes PORT names among `names` (index i is port i, named
    /// by its label such as "tap dp0", or the label's last word "dp0"), and
    /// whether it names any; `all` gives nil (every port).
    public func resolve(names: [String]) -> (ports: Set<Int>?, ok: Bool) {
        if port == "all" { return (nil, true) }
        if let index = Int(port) { return (index >= 0 && index < names.count) ? ([index], true) : (nil, false) }
        if let index = names.firstIndex(where: { $0 == port || $0.split(separator: " ").dropFirst().first.map(String.init) == port }) {
            return ([index], true)
        }
        return (nil, false)
    }
}
