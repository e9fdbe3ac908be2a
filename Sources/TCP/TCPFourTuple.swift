import Wire

/// One end of a TCP connection: address and port. The address is IPv6
/// width; an IPv4 end is its v4-mapped address ::ffff:a.b.c.d (RFC 4291
/// §2.5.5.2), so one table, one hash and one state machine serve both.
public struct TCPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv6Address
    public var port: UInt16
    public init(address: IPv6Address, port: UInt16) {
        self.address = address
        self.port = port
    }
    /// An IPv4 end (v4-mapped; `.any` maps to ::ffff:0.0.0.0, the IPv4 wildcard).
    public init(address: IPv4Address, port: UInt16) {
        self.init(address: IPv6Address(ipv4Mapped: address), port: port)
    }

    /// The IPv4 address of an IPv4 end, nil for an IPv6 one.
    @inlinable public var ipv4Address: IPv4Address? { address.ipv4Mapped }
    @inlinable public var isIPv4: Bool { address.isIPv4Mapped }

    /// :: or 0.0.0.0 (v4-mapped).
    @inlinable public var isWildcard: Bool {
        address.high == 0 && (address.low == 0 || address.low == 0xffff_0000_0000)
    }

    /// The wildcard of the same family: 0.0.0.0 (mapped) or ::.
    public var wildcard: TCPEndpoint {
        isIPv4 ? TCPEndpoint(address: IPv4Address.any, port: port) : TCPEndpoint(address: .unspecified, port: port)
    }

    public var description: String {
        if let v4 = ipv4Address { return "\(v4):\(port)" }
        return "[\(address)]:\(port)"
    }
}

/// The identity of a connection, seen from our side.
public struct TCPFourTuple: Hashable, Sendable, CustomStringConvertible {
    public var local: TCPEndpoint
    public var remote: TCPEndpoint
    public init(local: TCPEndpoint, remote: TCPEndpoint) {
        self.local = local
        self.remote = remote
    }

    /// The tuple as five words for keyed hashing (both addresses whole, the ports).
    var hashWords: SipHashKey.Words {
        (local.address.high, local.address.low, remote.address.high, remote.address.low,
         UInt64(local.port) << 16 | UInt64(remote.port))
    }

    /// Three words into the table's hasher, not six: the remote address
    /// and port whole (what a peer chooses), the local side folded in by
    /// XOR, which for one local endpoint is a bijection, so a peer cannot
    /// make two of its tuples collide (the IPv4 fast path hashes 24 bytes).
    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(remote.address.low)
        hasher.combine(remote.address.high ^ local.address.high)
        hasher.combine(local.address.low ^ (UInt64(local.port) << 48 | UInt64(remote.port) << 32))
    }

    /// True for an IPv4 connection (both ends v4-mapped).
    @inlinable public var isIPv4: Bool { remote.address.isIPv4Mapped }

    public var description: String { "\(local)<->\(remote)" }
}
