/// ICMPv4 message types Dataplane handles.
public struct ICMPv4Type: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let echoReply = ICMPv4Type(rawValue: 0)
    public static let destinationUnreachable = ICMPv4Type(rawValue: 3)
    public static let echoRequest = ICMPv4Type(rawValue: 8)
    public static let timeExceeded = ICMPv4Type(rawValue: 11)
}

/// A view of an ICMPv4 message (RFC 792) over raw bytes: type, code,
/// checksum, 4 bytes of type-specific header, then the body. The bytes are
/// the whole message (the IPv4 payload), which the checksum covers.
public struct ICMPv4Message {
    public let bytes: UnsafeMutableRawBufferPointer

    public static let headerLength = 8

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks that the 8-byte header is there.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
    }

    @inlinable public var type: ICMPv4Type {
        get { ICMPv4Type(rawValue: bytes.u8(at: 0)) }
        nonmutating set { bytes.setU8(newValue.rawValue, at: 0) }
    }

    @inlinable public var code: UInt8 {
        get { bytes.u8(at: 1) }
        nonmutating set { bytes.setU8(newValue, at: 1) }
    }

    @inlinable public var checksum: UInt16 {
        get { bytes.u16(at: 2) }
        nonmutating set { bytes.setU16(newValue, at: 2) }
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

    /// Next-hop MTU of "fragmentation needed" (RFC 1191, bytes 6-7).
    @inlinable public var nextHopMTU: UInt16 {
        get { bytes.u16(at: 6) }
        nonmutating set { bytes.setU16(newValue, at: 6) }
    }

    /// Bytes 4-7 as one word (unused by errors, must be zero there).
    @inlinable public var restOfHeader: UInt32 {
        get { bytes.u32(at: 4) }
        nonmutating set { bytes.setU32(newValue, at: 4) }
    }

    /// Echo data, or the quoted datagram of an error.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(Self.headerLength..<bytes.count) }

    @inlinable public var isChecksumValid: Bool { InternetChecksum.isValid(bytes.readOnly) }

    /// Computes and stores the checksum over the whole message as it is now.
    @inlinable public func fillChecksum() {
        checksum = 0
        checksum = InternetChecksum.checksum(bytes.readOnly)
    }
}
