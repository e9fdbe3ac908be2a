import TCP
import Wire

/// The socket layer's TCP calls for addresses of either family: IPv6
/// ones as they are, v4-mapped ones (::ffff:a.b.c.d, a dual-stack
/// socket's IPv4 peers) through the IPv4 calls.
extension NetStack {
    /// Passive open on `address:port`: `.unspecified` (::) takes every
    /// local address of both families unless `v6Only`; a v4-mapped
    /// address listens on IPv4 only.
    public func tcpListen(address: IPv6Address, port: UInt16, backlog: Int, options: TCPStreamOptions,
                          v6Only: Bool) throws(TCPOpenError) -> TCPListenerHandle {
        do {
            let id = try tcp.listen(on: TCPEndpoint(address: address, port: port), backlog: backlog,
                                    options: options.connectionOptions, v6Only: v6Only)
            return TCPListenerHandle(id: id)
        } catch {
            throw TCPOpenError(error)
        }
    }

    /// The source address toward an IPv6 destination (RFC 6724 by scope:
    /// link-local for link-local, else the address on its prefix), or nil
    /// when there is no route. `bound`, when not ::, must be one of ours.
    public func ipv6SourceAddress(toward destination: IPv6Address, from bound: IPv6Address = .unspecified) -> IPv6Address? {
        guard let route = routeIPv6(to: destination) else { return nil }
        return bound.isUnspecified ? route.source : bound
    }

    /// Interfaces of this stack (a link-local scope id is an index + 1).
    public var interfaceCount: Int { interfaces.count }

    /// True when `address` is a preferred IPv6 address of an interface.
    public func isLocalIPv6Address(_ address: IPv6Address) -> Bool {
        interfaces.contains { $0.ipv6?.owns(address) ?? false }
    }
}
