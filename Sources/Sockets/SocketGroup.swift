import Atomics
import Synchronization
import Wire

/// The cores of one application (what a process is to the kernel): the
/// global socket limit (ENFILE) and the port claims that decide
/// EADDRINUSE across cores (SO_REUSEPORT lets every core listen on the
/// same port). Bind, listen and close take its mutex; the data path never does.
public final class SocketGroup: Sendable {
    /// Sockets open in all cores of the group together (ENFILE beyond).
    public let socketLimit: Int
    let openSockets = ManagedAtomic<Int>(0)
    private let claims = Mutex<[PortKey: [PortClaim]]>([:])

    public init(socketLimit: Int = 4 << 20) {
        self.socketLimit = socketLimit
    }

    /// The group every core joins unless told otherwise.
    public static let shared = SocketGroup()

    public var openSocketCount: Int { openSockets.load(ordering: .relaxed) }

    struct PortKey: Hashable {
        var stream: Bool
        var port: UInt16
    }

    /// One socket's hold on a port. `address` is IPv6-wide: an AF_INET
    /// socket's v4-mapped (::ffff:0.0.0.0 for INADDR_ANY), an AF_INET6
    /// socket's own (:: with `v6Only` false claims IPv4 too).
    struct PortClaim {
        var core: Int
        var slot: Int
        var address: IPv6Address
        var v6Only: Bool
        var reuseAddress: Bool
        var reusePort: Bool
        var listening: Bool
    }

    func reserveSocket() -> Bool {
        let now = openSockets.loadThenWrappingIncrement(ordering: .relaxed)
        if now >= socketLimit {
            openSockets.wrappingDecrement(ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseSocket() { openSockets.wrappingDecrement(ordering: .relaxed) }

    /// Linux's rules: two sockets on one port and overlapping addresses
    /// (of either family: a v6-only [::]:P leaves 0.0.0.0:P free) conflict
    /// unless both set SO_REUSEPORT, or both set SO_REUSEADDR and neither
    /// listens.
    private static func conflicts(_ a: PortClaim, _ b: PortClaim) -> Bool {
        guard IPv6Address.bindingsOverlap(a.address, a.v6Only, b.address, b.v6Only) else { return false }
        if a.reusePort && b.reusePort { return false }
        if a.reuseAddress && b.reuseAddress && !a.listening && !b.listening { return false }
        return true
    }

    /// Claims (stream, port) for a socket; false when another socket holds it.
    func claim(stream: Bool, port: UInt16, _ claim: PortClaim) -> Bool {
        claims.withLock { table in
            let key = PortKey(stream: stream, port: port)
            let existing = table[key] ?? []
            if existing.contains(where: { Self.conflicts($0, claim) }) { return false }
            table[key, default: []].append(claim)
            return true
        }
    }

    func isClaimed(stream: Bool, port: UInt16) -> Bool {
        claims.withLock { !($0[PortKey(stream: stream, port: port)]?.isEmpty ?? true) }
    }

    /// Marks a claim as listening; false when that conflicts (another
    /// listener on the port without SO_REUSEPORT on both).
    func listen(stream: Bool, port: UInt16, core: Int, slot: Int) -> Bool {
        claims.withLock { table in
            let key = PortKey(stream: stream, port: port)
            guard var list = table[key], let index = list.firstIndex(where: { $0.core == core && $0.slot == slot }) else {
                return false
            }
            var mine = list[index]
            mine.listening = true
            for (i, other) in list.enumerated() where i != index && other.listening && Self.conflicts(other, mine) { return false }
            list[index] = mine
            table[key] = list
            return true
        }
    }

    func release(stream: Bool, port: UInt16, core: Int, slot: Int) {
        claims.withLock { table in
            let key = PortKey(stream: stream, port: port)
            table[key]?.removeAll { $0.core == core && $0.slot == slot }
            if table[key]?.isEmpty == true { table[key] = nil }
        }
    }
}
