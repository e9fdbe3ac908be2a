/// Whether two local bindings of one port share an address, as Linux's
/// inet_rcv_saddr_equal / ipv6_rcv_saddr_equal decide it (kernel 6.x).
/// Addresses are at IPv6 width: an AF_INET binding is v4-mapped
/// (::ffff:0.0.0.0 for INADDR_ANY, which takes every IPv4 address and no
/// IPv6 one); :: takes every IPv6 address and, unless `v6Only`, every IPv4
/// one (a dual-stack socket, RFC 3493 §5.3). `v6Only` means nothing for a
/// specific address.
extension IPv6Address {
    public static func bindingsOverlap(_ a: IPv6Address, _ aV6Only: Bool, _ b: IPv6Address, _ bV6Only: Bool) -> Bool {
        if a == b { return true }
        // What each binding takes of IPv4 (nil: nothing; .some(nil): every address).
        func v4(_ x: IPv6Address, _ v6Only: Bool) -> IPv4Address?? {
            if x.isUnspecified { return v6Only ? nil : .some(nil) }
            guard let mapped = x.ipv4Mapped else { return nil }
            return mapped.isUnspecified ? .some(nil) : .some(mapped)
        }
        func v6(_ x: IPv6Address) -> IPv6Address?? {
            if x.isUnspecified { return .some(nil) }
            return x.isIPv4Mapped ? nil : .some(x)
        }
        if case .some(let p) = v4(a, aV6Only), case .some(let q) = v4(b, bV6Only), p == nil || q == nil || p == q { return true }
        if case .some(let p) = v6(a), case .some(let q) = v6(b), p == nil || q == nil || p == q { return true }
        return false
    }
}
