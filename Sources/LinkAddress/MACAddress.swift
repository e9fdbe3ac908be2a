/// A 48-bit Ethernet (MAC) address, stored in network byte order.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    @inlinable
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        bytes = (b0, b1, b2, b3, b4, b5)
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    /// Parses "52:54:00:12:34:56" (also with '-' separators).
    public init?(_ text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var values = [UInt8]()
        for part in parts {
            guard part.count == 2, let value = UInt8(part, radix: 16) else { return nil }
            values.append(value)
        }
        self.init(values[0], values[1], values[2], values[3], values[4], values[5])
    }

    /// Reads six bytes at `pointer`.
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        self.init(
            pointer.load(fromByteOffset: 0, as: UInt8.self), pointer.load(fromByteOffset: 1, as: UInt8.self),
            pointer.load(fromByteOffset: 2, as: UInt8.self), pointer.load(fromByteOffset: 3, as: UInt8.self),
            pointer.load(fromByteOffset: 4, as: UInt8.self), pointer.load(fromByteOffset: 5, as: UInt8.self))
    }

    /// Writes the six bytes at `pointer`.
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: bytes.0, toByteOffset: 0, as: UInt8.self)
        pointer.storeBytes(of: bytes.1, toByteOffset: 1, as: UInt8.self)
        pointer.storeBytes(of: bytes.2, toByteOffset: 2, as: UInt8.self)
        pointer.storeBytes(of: bytes.3, toByteOffset: 3, as: UInt8.self)
        pointer.storeBytes(of: bytes.4, toByteOffset: 4, as: UInt8.self)
        pointer.storeBytes(of: bytes.5, toByteOffset: 5, as: UInt8.self)
    }

    /// Group bit set: multicast or broadcast.
    @inlinable public var isMulticast: Bool { bytes.0 & 1 == 1 }
    @inlinable public var isBroadcast: Bool { self == .broadcast }
    /// Unicast and not all zeros: usable as a station address.
    @inlinable public var isValidUnicast: Bool { !isMulticast && self != .zero }
    /// Locally administered bit (set on addresses we make up).
    @inlinable public var isLocallyAdministered: Bool { bytes.0 & 2 == 2 }

    public var description: String {
        let b = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5]
        return b.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    @inlinable
    public static func == (a: MACAddress, b: MACAddress) -> Bool {
        a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1 && a.bytes.2 == b.bytes.2
            && a.bytes.3 == b.bytes.3 && a.bytes.4 == b.bytes.4 && a.bytes.5 == b.bytes.5
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0); hasher.combine(bytes.1); hasher.combine(bytes.2)
        hasher.combine(bytes.3); hasher.combine(bytes.4); hasher.combine(bytes.5)
    }
}
