/// A view of an IPv4 packet (RFC 791) over raw bytes. The checked
/// constructor guarantees the header, its options and `totalLength` bytes
/// are all inside `bytes`; `payload` ends at `totalLength` (Ethernet padding
/// after it is ignored).
public struct IPv4Packet {
    public let bytes: UnsafeMutableRawBufferPointer

    /// A header without options.
    public static let minimumHeaderLength = 20
    /// IHL 15: 60 bytes, 40 of them options.
    public static let maximumHeaderLength = 60
    /// Where the header checksum sits (a NIC filling it in is told this offset).
    public static let checksumOffset = 10

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks version 4, IHL >= 5, and that header and total length fit the bytes.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.minimumHeaderLength else { throw .truncated }
        self.bytes = bytes
        guard version == 4 else { throw .badVersion }
        guard headerLength >= Self.minimumHeaderLength else { throw .badHeaderLength }
        guard headerLength <= bytes.count else { throw .truncated }
        guard totalLength >= headerLength else { throw .badLength }
        guard totalLength <= bytes.count else { throw .truncated }
    }

    /// As `init(checking:)` for a packet in several buffers: the header lies
    /// in `bytes` (the first buffer), `totalLength` within `packetLength`,
    /// the bytes of the whole chain. `payload` then covers the first buffer only.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, packetLength: Int) throws(WireError) {
        guard bytes.count >= Self.minimumHeaderLength else { throw .truncated }
        self.bytes = bytes
        guard version == 4 else { throw .badVersion }
        guard headerLength >= Self.minimumHeaderLength else { throw .badHeaderLength }
        guard headerLength <= bytes.count else { throw .truncated }
        guard totalLength >= headerLength else { throw .badLength }
        guard totalLength <= packetLength else { throw .truncated }
    }

    @inlinable public var version: UInt8 { bytes.u8(at: 0) >> 4 }

    /// IHL in bytes (20...60).
    @inlinable public var headerLength: Int { Int(bytes.u8(at: 0) & 0x0F) * 4 }

    /// Sets version 4 and the IHL for a header of `length` bytes (a multiple of 4).
    @inlinable public func setVersionAndHeaderLength(_ length: Int) {
        bytes.setU8(0x40 | UInt8(truncatingIfNeeded: length / 4) & 0x0F, at: 0)
    }

    /// Differentiated services code point (upper 6 bits of the TOS byte).
    @inlinable public var dscp: UInt8 {
        get { bytes.u8(at: 1) >> 2 }
        nonmutating set { bytes.setU8(newValue << 2 | bytes.u8(at: 1) & 0x03, at: 1) }
    }

    /// Explicit congestion notification (lower 2 bits of the TOS byte).
    @inlinable public var ecn: UInt8 {
        get { bytes.u8(at: 1) & 0x03 }
        nonmutating set { bytes.setU8(bytes.u8(at: 1) & 0xFC | newValue & 0x03, at: 1) }
    }

    /// Header plus payload, in bytes.
    @inlinable public var totalLength: Int {
        get { Int(bytes.u16(at: 2)) }
        nonmutating set { bytes.setU16(UInt16(truncatingIfNeeded: newValue), at: 2) }
    }

    @inlinable public var identification: UInt16 {
        get { bytes.u16(at: 4) }
        nonmutating set { bytes.setU16(newValue, at: 4) }
    }

    /// The raw flags + fragment offset word.
    @inlinable public var flagsAndFragmentOffset: UInt16 {
        get { bytes.u16(at: 6) }
        nonmutating set { bytes.setU16(newValue, at: 6) }
    }

    @inlinable public var dontFragment: Bool { flagsAndFragmentOffset & 0x4000 != 0 }
    @inlinable public var moreFragments: Bool { flagsAndFragmentOffset & 0x2000 != 0 }
    /// The fragment offset in bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(flagsAndFragmentOffset & 0x1FFF) * 8 }
    /// True for any piece of a fragmented datagram (MF set or offset > 0).
    @inlinable public var isFragment: Bool { flagsAndFragmentOffset & 0x3FFF != 0 }

    @inlinable public var timeToLive: UInt8 {
        get { bytes.u8(at: 8) }
        nonmutating set { bytes.setU8(newValue, at: 8) }
    }

    @inlinable public var `protocol`: IPProtocol {
        get { IPProtocol(rawValue: bytes.u8(at: 9)) }
        nonmutating set { bytes.setU8(newValue.rawValue, at: 9) }
    }

    @inlinable public var headerChecksum: UInt16 {
        get { bytes.u16(at: Self.checksumOffset) }
        nonmutating set { bytes.setU16(newValue, at: Self.checksumOffset) }
    }

    @inlinable public var source: IPv4Address {
        get { bytes.ipv4(at: 12) }
        nonmutating set { bytes.setIPv4(newValue, at: 12) }
    }

    @inlinable public var destination: IPv4Address {
        get { bytes.ipv4(at: 16) }
        nonmutating set { bytes.setIPv4(newValue, at: 16) }
    }

    /// The option bytes (kept, not interpreted), empty for IHL 5.
    @inlinable public var options: UnsafeMutableRawBufferPointer {
        bytes.slice(Self.minimumHeaderLength..<headerLength)
    }

    /// The bytes after the header up to `totalLength`.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength..<totalLength) }

    /// True when the header checksum is right.
    @inlinable public var isChecksumValid: Bool {
        InternetChecksum.isValid(bytes.slice(0..<headerLength).readOnly)
    }

    /// Computes and stores the header checksum over the current header.
    @inlinable public func fillChecksum() {
        headerChecksum = 0
        headerChecksum = InternetChecksum.checksum(bytes.slice(0..<headerLength).readOnly)
    }
}
