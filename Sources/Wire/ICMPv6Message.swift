/// ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4).
public struct ICMPv6Type: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let destinationUnreachable = ICMPv6Type(rawValue: 1)
    public static let packetTooBig = ICMPv6Type(rawValue: 2)
    public static let timeExceeded = ICMPv6Type(rawValue: 3)
    public static let parameterProblem = ICMPv6Type(rawValue: 4)
    public static let echoRequest = ICMPv6Type(rawValue: 128)
    public static let echoReply = ICMPv6Type(rawValue: 129)
    public static let routerSolicitation = ICMPv6Type(rawValue: 133)
    public static let routerAdvertisement = ICMPv6Type(rawValue: 134)
    public static let neighborSolicitation = ICMPv6Type(rawValue: 135)
    public static let neighborAdvertisement = ICMPv6Type(rawValue: 136)
    public static let redirect = ICMPv6Type(rawValue: 137)

    /// Types below 128 are errors (RFC 4443 §2.1).
    @inlinable public var isError: Bool { rawValue < 128 }
}

/// A view of an ICMPv6 message (RFC 4443 §2.1) over raw bytes: type, code,
/// checksum, 4 bytes of type-specific header, then the body. The bytes are
/// the whole message (the upper-layer part of the IPv6 payload); the
/// checksum covers them and the IPv6 pseudo-header.
public struct ICMPv6Message {
    public let bytes: UnsafeMutableRawBufferPointer

    public static let headerLength = 8
    public static let checksumOffset = 2

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks that the 8-byte header is there.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
    }

    @inlinable public var type: ICMPv6Type {
        get { ICMPv6Type(rawValue: bytes.u8(at: 0)) }
        nonmutating set { bytes.setU8(newValue.rawValue, at: 0) }
    }

    @inlinable public var code: UInt8 {
        get { bytes.u8(at: 1) }
        nonmutating set { bytes.setU8(newValue, at: 1) }
    }

    @inlinable public var checksum: UInt16 {
        get { bytes.u16(at: Self.checksumOffset) }
        nonmutating set { bytes.setU16(newValue, at: Self.checksumOffset) }
    }

    /// Echo identifier (bytes 4-5).
    @inlinable public var identifier: UInt16 {
        get { bytes.u16(at: 4) }
        nonmutating set { bytes.setU16(newValue, at: 4) }
    }

    /// Echo sequence number (bytes 6-7).
    @inlinable public var sequenceNumber: UInt16 {
        get { bytes.u16(at: 6) }
        nonmutating set { bytes.setU16(newValue, at: 6) }
    }

    /// Bytes 4-7 as one word: the MTU of Packet Too Big, the pointer of
    /// Parameter Problem, NA's flags, RA's first word.
    @inlinable public var word: UInt32 {
        get { bytes.u32(at: 4) }
        nonmutating set { bytes.setU32(newValue, at: 4) }
    }

    /// Everything after the 8-byte header: echo data, an error's quoted
    /// packet, or the rest of an NDP message.
    @inlinable public var body: UnsafeMutableRawBufferPointer { bytes.slice(Self.headerLength..<bytes.count) }

    @inlinable
    public func isChecksumValid(source: IPv6Address, destination: IPv6Address) -> Bool {
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .icmpv6, length: bytes.count)
        return InternetChecksum.isValid(bytes.readOnly, initial: pseudo)
    }

    /// Computes and stores the checksum over the whole message as it is now.
    @inlinable
    public func fillChecksum(source: IPv6Address, destination: IPv6Address) {
        checksum = 0
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: .icmpv6, length: bytes.count)
        checksum = InternetChecksum.checksum(bytes.readOnly, initial: pseudo)
    }
}
