import Wire

/// A destination prefix a route table can hold: IPv4Network now; an IPv6
/// prefix type conforms the same way and gets the same table.
public protocol RoutePrefix: Hashable, Sendable, CustomStringConvertible {
    associatedtype Address: Hashable, Sendable, CustomStringConvertible
    var prefixLength: Int { get }
    /// The same prefix with the host bits cleared (10.1.2.3/8 → 10.0.0.0/8).
    var canonical: Self { get }
    func contains(_ address: Address) -> Bool
}

extension IPv4Network: RoutePrefix {
    public var canonical: IPv4Network { IPv4Network(address: networkAddress, prefixLength: prefixLength)! }
}

/// Where a route came from, as `ip route` says it (proto kernel / static).
public enum RouteOrigin: String, Sendable, Equatable {
    /// An interface's own subnet (made from its address, never removed by hand).
    case connected
    /// Added by a flag, a configuration file, the C API or a run-time call.
    case `static`
}

/// Why a route change was refused (the C API maps these to errno).
public enum RouteTableError: Error, Sendable, Equatable {
    /// The same destination (and interface) is already there (EEXIST).
    case exists
    /// No such route (ESRCH, as `ip route del` reports it).
    case notFound
    /// The table is full (ENOBUFS).
    case full
    /// Connected routes follow the interfaces and are not removed by hand (EPERM).
    case connected
}

/// A routing table with longest prefix match (RFC 1812 §5.2.4.3): the most
/// specific route that holds the address wins; among equals, the first
/// added. Entries are kept sorted by prefix length, longest first, so a
/// lookup is a scan that stops at the first match: tables here hold an
/// interface's subnets and a handful of static routes, where a scan over
/// plain values (no allocation, no reference counting) beats a trie.
public struct RouteTable<Prefix: RoutePrefix>: Sendable {
    /// One route: packets to `destination` leave through `interface`, to
    /// `gateway` when there is one, else straight to their destination (on-link).
    public struct Entry: Sendable, Equatable {
        public var destination: Prefix
        public var gateway: Prefix.Address?
        public var interface: Int
        public var origin: RouteOrigin

        public init(destination: Prefix, gateway: Prefix.Address? = nil, interface: Int, origin: RouteOrigin = .static) {
            self.destination = destination.canonical
            self.gateway = gateway
            self.interface = interface
            self.origin = origin
        }
    }

    public private(set) var routes: [Entry] = []
    public let capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = capacity
        routes.reserveCapacity(capacity)
    }

    /// The route for `address` (nil: unreachable). With `interface`, only
    /// that interface's routes count (a socket bound to its address).
    @inlinable
    public func lookup(_ address: Prefix.Address, interface: Int? = nil) -> Entry? {
        for i in routes.indices {
            let route = routes[i]
            if let interface, route.interface != interface { continue }
            if route.destination.contains(address) { return route }
        }
        return nil
    }

    /// Adds `route` after the routes at least as specific (first added wins among equals).
    public mutating func add(_ route: Entry) throws(RouteTableError) {
        guard !routes.contains(where: { $0.destination == route.destination && $0.interface == route.interface }) else {
            throw .exists
        }
        guard routes.count < capacity else { throw .full }
        let at = routes.firstIndex { $0.destination.prefixLength < route.destination.prefixLength } ?? routes.count
        routes.insert(route, at: at)
    }

    /// Removes the static route to `destination` (through `gateway` and on
    /// `interface` when given) and returns it.
    @discardableResult
    public mutating func remove(_ destination: Prefix, gateway: Prefix.Address? = nil,
                                interface: Int? = nil) throws(RouteTableError) -> Entry {
        let destination = destination.canonical
        guard let i = routes.firstIndex(where: {
            $0.destination == destination && (gateway == nil || $0.gateway == gateway)
                && (interface == nil || $0.interface == interface)
        }) else { throw .notFound }
        guard routes[i].origin == .static else { throw .connected }
        return routes.remove(at: i)
    }
}

public typealias IPv4Route = IPv4RouteTable.Entry
public typealias IPv4RouteTable = RouteTable<IPv4Network>
