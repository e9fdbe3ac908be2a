/// NDP option types (RFC 4861 §4.6).
public enum NDPOptionType: UInt8, Sendable {
    case sourceLinkAddress = 1
    case targetLinkAddress = 2
    case prefixInformation = 3
    case redirectedHeader = 4
    case mtu = 5
}

/// A Prefix Information option (RFC 4861 §4.6.2).
public struct NDPPrefixInformation: Hashable, Sendable {
    public var prefix: IPv6Address
    public var prefixLength: UInt8
    /// L: the prefix is on-link.
    public var onLink: Bool
    /// A: the prefix may be used for SLAAC (RFC 4862).
    public var autonomous: Bool
    /// Seconds; 0xFFFF_FFFF is infinity.
    public var validLifetime: UInt32
    public var preferredLifetime: UInt32

    public static let length = 32

    @inlinable
    public init(prefix: IPv6Address, prefixLength: UInt8, onLink: Bool, autonomous: Bool,
                validLifetime: UInt32, preferredLifetime: UInt32) {
        self.prefix = prefix
        self.prefixLength = prefixLength
        self.onLink = onLink
        self.autonomous = autonomous
        self.validLifetime = validLifetime
        self.preferredLifetime = preferredLifetime
    }

    /// Reads the option at the start of `bytes` (32 bytes, checked by the caller).
    @inlinable static func parse(_ bytes: UnsafeMutableRawBufferPointer) -> NDPPrefixInformation {
        let flags = bytes.u8(at: 3)
        return NDPPrefixInformation(
            prefix: bytes.ipv6(at: 16), prefixLength: bytes.u8(at: 2), onLink: flags & 0x80 != 0,
            autonomous: flags & 0x40 != 0, validLifetime: bytes.u32(at: 4), preferredLifetime: bytes.u32(at: 8))
    }

    @inlinable func emit(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.setU8(NDPOptionType.prefixInformation.rawValue, at: 0)
        bytes.setU8(4, at: 1)
        bytes.setU8(prefixLength, at: 2)
        bytes.setU8((onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0), at: 3)
        bytes.setU32(validLifetime, at: 4)
        bytes.setU32(preferredLifetime, at: 8)
        bytes.setU32(0, at: 12)
        bytes.setIPv6(prefix, at: 16)
    }
}

/// The options of an NDP message this stack uses, as plain values: the
/// first of each kind (a repeat is ignored, as are unknown kinds, RFC 4861
/// §4.6). All prefixes of a router advertisement are read with
/// `NDPOptions.forEachPrefix`.
public struct NDPOptions: Hashable, Sendable {
    public var sourceLinkAddress: MACAddress?
    public var targetLinkAddress: MACAddress?
    public var mtu: UInt32?
    public var prefix: NDPPrefixInformation?

    @inlinable
    public init(sourceLinkAddress: MACAddress? = nil, targetLinkAddress: MACAddress? = nil,
                mtu: UInt32? = nil, prefix: NDPPrefixInformation? = nil) {
        self.sourceLinkAddress = sourceLinkAddress
        self.targetLinkAddress = targetLinkAddress
        self.mtu = mtu
        self.prefix = prefix
    }

    /// Walks the TLVs of `bytes`: every option must have a non-zero length
    /// and fit (RFC 4861 §4.6: otherwise the whole message is dropped);
    /// link-layer options shorter than a MAC, an MTU or a prefix option of
    /// the wrong size are ignored as malformed. Bounded: each step advances
    /// by at least 8 bytes.
    @inlinable
    public static func parse(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) -> NDPOptions {
        var options = NDPOptions()
        var index = 0
        while index < bytes.count {
            guard bytes.count - index >= 2 else { throw .badOptionLength }
            let length = Int(bytes.u8(at: index + 1)) * 8
            guard length > 0, index + length <= bytes.count else { throw .badOptionLength }
            let option = bytes.slice(index..<index + length)
            switch NDPOptionType(rawValue: option.u8(at: 0)) {
            case .sourceLinkAddress where options.sourceLinkAddress == nil:
                options.sourceLinkAddress = option.mac(at: 2)
            case .targetLinkAddress where options.targetLinkAddress == nil:
                options.targetLinkAddress = option.mac(at: 2)
            case .mtu where options.mtu == nil:
                options.mtu = option.u32(at: 4)
            case .prefixInformation where options.prefix == nil && length == NDPPrefixInformation.length:
                options.prefix = NDPPrefixInformation.parse(option)
            default:
                break
            }
            index += length
        }
        return options
    }

    /// Calls `body` for each well-formed prefix option of `bytes` (already
    /// checked by `parse`).
    @inlinable
    public static func forEachPrefix(_ bytes: UnsafeMutableRawBufferPointer, _ body: (NDPPrefixInformation) -> Void) {
        var index = 0
        while bytes.count - index >= 2 {
            let length = Int(bytes.u8(at: index + 1)) * 8
            guard length > 0, index + length <= bytes.count else { return }
            if bytes.u8(at: index) == NDPOptionType.prefixInformation.rawValue, length == NDPPrefixInformation.length {
                body(NDPPrefixInformation.parse(bytes.slice(index..<index + length)))
            }
            index += length
        }
    }

    /// Bytes `emit` writes: 8 per link address, 8 for the MTU, 32 for a prefix.
    @inlinable public var length: Int {
        (sourceLinkAddress == nil ? 0 : 8) + (targetLinkAddress == nil ? 0 : 8) + (mtu == nil ? 0 : 8)
            + (prefix == nil ? 0 : NDPPrefixInformation.length)
    }

    /// Writes the options in the order source, target, MTU, prefix.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= length, "NDP options emit: buffer smaller than the options")
        var index = 0
        func link(_ type: NDPOptionType, _ mac: MACAddress?) {
            guard let mac else { return }
            bytes.setU8(type.rawValue, at: index)
            bytes.setU8(1, at: index + 1)
            bytes.setMAC(mac, at: index + 2)
            index += 8
        }
        link(.sourceLinkAddress, sourceLinkAddress)
        link(.targetLinkAddress, targetLinkAddress)
        if let mtu {
            bytes.setU8(NDPOptionType.mtu.rawValue, at: index)
            bytes.setU8(1, at: index + 1)
            bytes.setU16(0, at: index + 2)
            bytes.setU32(mtu, at: index + 4)
            index += 8
        }
        if let prefix { prefix.emit(into: bytes.slice(index..<index + NDPPrefixInformation.length)) }
    }
}
