/// A view of an IPv6 packet (RFC 8200 §3) over raw bytes. The checked
/// constructor guarantees the 40-byte fixed header and `payloadLength`
/// bytes after it are inside `bytes`; `payload` ends there (Ethernet padding
/// is ignored). Extension headers are in the payload (`IPv6HeaderChain`).
public struct IPv6Packet {
    public let bytes: UnsafeMutableRawBufferPointer

    public static let headerLength = 40
    /// The minimum link MTU IPv6 needs (RFC 8200 §5).
    public static let minimumMTU = 1280

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks version 6 and that header and payload length fit the bytes.
    /// A zero payload length with a jumbo option (RFC 2675) is not supported
    /// and reads as an empty payload.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
        guard version == 6 else { throw .badVersion }
        guard Self.headerLength + payloadLength <= bytes.count else { throw .truncated }
    }

    /// Checks a packet spread over a chain of buffers (a device's coalesced
    /// frame, virtio GUEST_TSO6): the fixed header in `bytes` (the first
    /// buffer), the payload within `packetLength`, the bytes of the whole
    /// chain. `payload` must not be used then: `firstPayload` is the part
    /// of it in the first buffer.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer, packetLength: Int) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
        guard version == 6 else { throw .badVersion }
        guard Self.headerLength + payloadLength <= packetLength else { throw .truncated }
    }

    /// The payload bytes inside `bytes`: all of it for a packet checked
    /// whole, the first buffer's share for a chain.
    @inlinable public var firstPayload: UnsafeMutableRawBufferPointer {
        bytes.slice(Self.headerLength..<min(totalLength, bytes.count))
    }

    @inlinable public var version: UInt8 { bytes.u8(at: 0) >> 4 }

    /// Traffic class (DSCP << 2 | ECN).
    @inlinable public var trafficClass: UInt8 {
        get { UInt8(truncatingIfNeeded: bytes.u32(at: 0) >> 20) }
        nonmutating set { bytes.setU32(bytes.u32(at: 0) & 0xF00F_FFFF | UInt32(newValue) << 20, at: 0) }
    }

    @inlinable public var flowLabel: UInt32 {
        get { bytes.u32(at: 0) & 0xF_FFFF }
        nonmutating set { bytes.setU32(bytes.u32(at: 0) & 0xFFF0_0000 | newValue & 0xF_FFFF, at: 0) }
    }

    /// Bytes after the fixed header (extension headers included).
    @inlinable public var payloadLength: Int {
        get { Int(bytes.u16(at: 4)) }
        nonmutating set { bytes.setU16(UInt16(truncatingIfNeeded: newValue), at: 4) }
    }

    /// The first header after the fixed header.
    @inlinable public var nextHeader: IPProtocol {
        get { IPProtocol(rawValue: bytes.u8(at: 6)) }
        nonmutating set { bytes.setU8(newValue.rawValue, at: 6) }
    }

    @inlinable public var hopLimit: UInt8 {
        get { bytes.u8(at: 7) }
        nonmutating set { bytes.setU8(newValue, at: 7) }
    }

    @inlinable public var source: IPv6Address {
        get { bytes.ipv6(at: 8) }
        nonmutating set { bytes.setIPv6(newValue, at: 8) }
    }

    @inlinable public var destination: IPv6Address {
        get { bytes.ipv6(at: 24) }
        nonmutating set { bytes.setIPv6(newValue, at: 24) }
    }

    /// Header plus payload.
    @inlinable public var totalLength: Int { Self.headerLength + payloadLength }

    /// The bytes after the fixed header up to the payload length.
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(Self.headerLength..<totalLength) }
}

/// The fixed IPv6 header as a plain value.
public struct IPv6Repr: Hashable, Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    /// The header that follows the fixed one (an extension header or the upper layer).
    public var nextHeader: IPProtocol
    public var payloadLength: Int
    public var hopLimit: UInt8
    public var trafficClass: UInt8
    public var flowLabel: UInt32

    @inlinable
    public init(
        source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, payloadLength: Int,
        hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0
    ) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.payloadLength = payloadLength
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel
    }

    @inlinable public var totalLength: Int { IPv6Packet.headerLength + payloadLength }

    /// Reads a checked packet (IPv6 has no header checksum). A multicast
    /// or unspecified source is rejected (RFC 4291 §2.7, §2.5.2 for
    /// anything but DAD, which the NDP code allows itself).
    @inlinable
    public static func parse(_ packet: IPv6Packet) throws(WireError) -> IPv6Repr {
        guard !packet.source.isMulticast else { throw .badAddress }
        return IPv6Repr(
            source: packet.source, destination: packet.destination, nextHeader: packet.nextHeader,
            payloadLength: packet.payloadLength, hopLimit: packet.hopLimit,
            trafficClass: packet.trafficClass, flowLabel: packet.flowLabel)
    }

    /// Writes the fixed header at the start of `packet` (40 bytes).
    @inlinable
    public func emit(into packet: IPv6Packet) {
        precondition(packet.bytes.count >= IPv6Packet.headerLength, "IPv6 emit: buffer smaller than the header")
        precondition(payloadLength <= 65_535, "IPv6 emit: payload above 65,535 bytes (jumbograms unsupported)")
        packet.bytes.setU32(6 << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xF_FFFF, at: 0)
        packet.payloadLength = payloadLength
        packet.nextHeader = nextHeader
        packet.hopLimit = hopLimit
        packet.source = source
        packet.destination = destination
    }
}
