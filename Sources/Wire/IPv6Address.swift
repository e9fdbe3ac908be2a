/// An IPv6 address (RFC 4291) as two 64-bit halves in host byte order, so
/// comparisons, prefixes and hashing work on two words (no byte loops).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bits 0...63 (the first eight bytes on the wire).
    public var high: UInt64
    /// Bits 64...127 (the interface identifier of a /64).
    public var low: UInt64

    @inlinable public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From eight 16-bit groups, as written ("fd20::2" is 0xfd20, 0, ..., 2).
    @inlinable
    public init(_ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16, _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16) {
        high = UInt64(g0) << 48 | UInt64(g1) << 32 | UInt64(g2) << 16 | UInt64(g3)
        low = UInt64(g4) << 48 | UInt64(g5) << 32 | UInt64(g6) << 16 | UInt64(g7)
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)
    public static let loopback = IPv6Address(high: 0, low: 1)
    /// ff02::1, all nodes on the link (RFC 4291 §2.7.1).
    public static let allNodes = IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 1)
    /// ff02::2, all routers on the link.
    public static let allRouters = IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 2)

    /// Reads sixteen bytes in network order at `pointer`.
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        high = UInt64(bigEndian: pointer.loadUnaligned(as: UInt64.self))
        low = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// Writes the address in network order at `pointer`.
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: high.bigEndian, as: UInt64.self)
        pointer.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Group `index` (0...7) of the text form.
    @inlinable public func group(_ index: Int) -> UInt16 {
        let word = index < 4 ? high : low
        return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (index & 3)))
    }

    @inlinable public var isUnspecified: Bool { high == 0 && low == 0 }
    @inlinable public var isLoopback: Bool { high == 0 && low == 1 }
    @inlinable public var isMulticast: Bool { high >> 56 == 0xff }
    /// fe80::/10 (RFC 4291 §2.5.6).
    @inlinable public var isLinkLocal: Bool { high >> 54 == 0x3fa }
    /// A multicast address of link-local scope (ff02::/16 and the like, RFC 4291 §2.7).
    @inlinable public var isLinkLocalMulticast: Bool { isMulticast && (high >> 48) & 0xf == 2 }
    /// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    @inlinable public var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xffff }
    /// The IPv4 address of a v4-mapped address, nil for any other.
    @inlinable public var ipv4Mapped: IPv4Address? {
        isIPv4Mapped ? IPv4Address(UInt32(truncatingIfNeeded: low)) : nil
    }

    /// ::ffff:a.b.c.d for `address`.
    @inlinable public init(ipv4Mapped address: IPv4Address) {
        high = 0
        low = 0xffff_0000_0000 | UInt64(address.value)
    }

    /// ff02::1:ffXX:XXXX, the solicited-node group of this address (RFC 4291 §2.7.1).
    @inlinable public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xff02_0000_0000_0000, low: 0x1_ff00_0000 | (low & 0xff_ffff))
    }

    /// The Ethernet group address a multicast IPv6 address maps to:
    /// 33:33 and its last 32 bits (RFC 2464 §7).
    @inlinable public var multicastMAC: MACAddress {
        let tail = UInt32(truncatingIfNeeded: low)
        return MACAddress(0x33, 0x33, UInt8(tail >> 24), UInt8(tail >> 16 & 0xff), UInt8(tail >> 8 & 0xff), UInt8(tail & 0xff))
    }

    /// The modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A):
    /// ff:fe in the middle and the universal/local bit flipped.
    @inlinable public static func interfaceIdentifier(_ mac: MACAddress) -> UInt64 {
        let b = mac.bytes
        return UInt64(b.0 ^ 0x02) << 56 | UInt64(b.1) << 48 | UInt64(b.2) << 40 | 0xff_fe00_0000
            | UInt64(b.3) << 16 | UInt64(b.4) << 8 | UInt64(b.5)
    }

    /// fe80::/64 with the EUI-64 identifier of `mac` (RFC 4862 §5.3).
    @inlinable public init(linkLocalFrom mac: MACAddress) {
        high = 0xfe80_0000_0000_0000
        low = Self.interfaceIdentifier(mac)
    }

    @inlinable public static func < (a: IPv6Address, b: IPv6Address) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }
}

/// An IPv6 address with a prefix length: "fd20::2/64".
public struct IPv6Network: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv6Address
    public var prefixLength: Int

    public init?(address: IPv6Address, prefixLength: Int) {
        guard (0...128).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "ADDR/N"; a bare address means /128.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPv6Address(parts[0]) else { return nil }
        guard let prefix = parts.count == 2 ? Int(parts[1]) : 128 else { return nil }
        self.init(address: address, prefixLength: prefix)
    }

    /// The masks of the two halves.
    @inlinable public var masks: (high: UInt64, low: UInt64) {
        let p = prefixLength
        let high: UInt64 = p == 0 ? 0 : p >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - p)
        let low: UInt64 = p <= 64 ? 0 : p == 128 ? ~0 : ~UInt64(0) << UInt64(128 - p)
        return (high, low)
    }

    @inlinable public func contains(_ other: IPv6Address) -> Bool {
        let m = masks
        return (other.high ^ address.high) & m.high == 0 && (other.low ^ address.low) & m.low == 0
    }

    public var networkAddress: IPv6Address {
        let m = masks
        return IPv6Address(high: address.high & m.high, low: address.low & m.low)
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
