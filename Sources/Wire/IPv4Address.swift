/// An IPv4 address. `value` holds it in host byte order, so that
/// comparisons and masks read naturally (10.0.0.1 is 0x0A000001).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32

    @inlinable public init(_ value: UInt32) { self.value = value }

    @inlinable
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(0xffff_ffff)

    /// Parses dotted-quad text ("192.168.7.2"); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII),
                let octet = UInt8(part)
            else { return nil }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    /// Reads four bytes in network order at `pointer`.
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        value = UInt32(bigEndian: pointer.loadUnaligned(as: UInt32.self))
    }

    /// Writes the address in network order at `pointer`.
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: value.bigEndian, as: UInt32.self)
    }

    @inlinable public var isUnspecified: Bool { value == 0 }
    @inlinable public var isBroadcast: Bool { value == 0xffff_ffff }
    @inlinable public var isMulticast: Bool { value >> 28 == 0xE }
    @inlinable public var isLoopback: Bool { value >> 24 == 127 }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    @inlinable public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An address with a prefix length: "10.0.0.2/24".
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var prefixLength: Int

    public init?(address: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses "A.B.C.D/N"; a bare address means /32.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = IPv4Address(parts[0]) else {
            return nil
        }
        let prefix = parts.count == 2 ? Int(parts[1]) : 32
        guard let prefix else { return nil }
        self.init(address: address, prefixLength: prefix)
    }

    @inlinable
    public var mask: UInt32 { prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength) }
    public var networkAddress: IPv4Address { IPv4Address(address.value & mask) }
    /// The directed broadcast address of the subnet.
    public var broadcastAddress: IPv4Address { IPv4Address(address.value | ~mask) }

    @inlinable
    public func contains(_ other: IPv4Address) -> Bool {
        (other.value & mask) == (address.value & mask)
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
