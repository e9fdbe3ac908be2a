import Wire

/// The endpoint table's demux map, 4-tuple to slot, kept in two
/// dictionaries behind one subscript: IPv4 tuples (both ends v4-mapped)
/// under a 12-byte key, IPv6 ones at full width. A dictionary keeps 1.33
/// to 2.67 buckets per entry (load at most 3/4, power-of-two sizes), so
/// the key's stride is paid per connection more than once: one
/// `[TCPFourTuple: Int32]` (48 + 4 bytes a bucket) cost 109 B per
/// connection at 1,000,000 and 136 B at 100,000; the IPv4 map costs 34
/// and 42 (Docs/BENCHMARKS.md "Connection scale").
struct TCPDemuxMap {
    /// An IPv4 connection's tuple: both addresses and both ports, 12 bytes.
    struct IPv4Key: Hashable {
        var local: UInt32
        var remote: UInt32
        /// Local port << 16 | remote port.
        var ports: UInt32

        @inline(__always) init?(_ tuple: TCPFourTuple) {
            guard tuple.local.address.isIPv4Mapped, tuple.remote.address.isIPv4Mapped else { return nil }
            local = UInt32(truncatingIfNeeded: tuple.local.address.low)
            remote = UInt32(truncatingIfNeeded: tuple.remote.address.low)
            ports = UInt32(tuple.local.port) << 16 | UInt32(tuple.remote.port)
        }

        /// Two words, not three: the remote address and both ports whole
        /// (what a peer chooses), the local address alone (as
        /// TCPFourTuple's hash, no two tuples of one peer collide).
        @inline(__always) func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(remote) << 32 | UInt64(ports))
            hasher.combine(local)
        }
    }

    private var ipv4: [IPv4Key: Int32] = [:]
    private var ipv6: [TCPFourTuple: Int32] = [:]

    var count: Int { ipv4.count + ipv6.count }

    subscript(tuple: TCPFourTuple) -> Int32? {
        @inline(__always) get {
            if let key = IPv4Key(tuple) { return ipv4[key] }
            return ipv6[tuple]
        }
        set {
            if let key = IPv4Key(tuple) { ipv4[key] = newValue } else { ipv6[tuple] = newValue }
        }
    }

    mutating func removeValue(forKey tuple: TCPFourTuple) {
        self[tuple] = nil
    }
}
