/// A view of an Ethernet II frame (optionally with one 802.1Q tag) over raw
/// bytes: destination, source, [TPID 0x8100, TCI], EtherType, payload.
/// Holds no copy; the bytes must outlive the view.
public struct EthernetFrame {
    public let bytes: UnsafeMutableRawBufferPointer

    /// Destination + source + EtherType.
    public static let headerLength = 14
    /// Extra bytes an 802.1Q tag adds.
    public static let vlanTagLength = 4

    /// Wraps bytes the caller has sized already (for emitting).
    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Wraps received bytes, checking they hold the whole header (and the tag).
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.headerLength else { throw .truncated }
        self.bytes = bytes
        if hasVLANTag && bytes.count < Self.headerLength + Self.vlanTagLength { throw .truncated }
    }

    @inlinable public var destination: MACAddress {
        get { bytes.mac(at: 0) }
        nonmutating set { bytes.setMAC(newValue, at: 0) }
    }

    @inlinable public var source: MACAddress {
        get { bytes.mac(at: 6) }
        nonmutating set { bytes.setMAC(newValue, at: 6) }
    }

    /// The type field right after the addresses: 0x8100 on a tagged frame.
    @inlinable public var outerEtherType: EtherType {
        get { EtherType(rawValue: bytes.u16(at: 12)) }
        nonmutating set { bytes.setU16(newValue.rawValue, at: 12) }
    }

    @inlinable public var hasVLANTag: Bool { outerEtherType == .vlan }

    /// The 802.1Q tag, if the frame carries one.
    @inlinable public var vlanTag: VLANTag? {
        hasVLANTag ? VLANTag(controlInformation: bytes.u16(at: 14)) : nil
    }

    /// The type of the payload (after the VLAN tag, if any).
    @inlinable public var etherType: EtherType {
        get { EtherType(rawValue: bytes.u16(at: hasVLANTag ? 16 : 12)) }
        nonmutating set { bytes.setU16(newValue.rawValue, at: hasVLANTag ? 16 : 12) }
    }

    /// 14, or 18 with a VLAN tag.
    @inlinable public var headerLength: Int {
        hasVLANTag ? Self.headerLength + Self.vlanTagLength : Self.headerLength
    }

    /// Everything after the header (may include Ethernet padding).
    @inlinable public var payload: UnsafeMutableRawBufferPointer { bytes.slice(headerLength..<bytes.count) }
}

/// An Ethernet II header as a plain value.
public struct EthernetRepr: Hashable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    /// The payload's type (never 0x8100: the tag is `vlanTag`).
    public var etherType: EtherType
    public var vlanTag: VLANTag?

    @inlinable
    public init(destination: MACAddress, source: MACAddress, etherType: EtherType, vlanTag: VLANTag? = nil) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.vlanTag = vlanTag
    }

    /// Reads a checked frame (nothing left to reject at this layer).
    @inlinable
    public static func parse(_ frame: EthernetFrame) -> EthernetRepr {
        EthernetRepr(
            destination: frame.destination, source: frame.source, etherType: frame.etherType,
            vlanTag: frame.vlanTag)
    }

    /// 14, or 18 with a VLAN tag.
    @inlinable public var headerLength: Int {
        vlanTag == nil ? EthernetFrame.headerLength : EthernetFrame.headerLength + EthernetFrame.vlanTagLength
    }

    /// Writes the header at the start of `frame`, which must hold `headerLength` bytes.
    @inlinable
    public func emit(into frame: EthernetFrame) {
        precondition(frame.bytes.count >= headerLength, "Ethernet emit: buffer smaller than the header")
        frame.destination = destination
        frame.source = source
        if let vlanTag {
            frame.bytes.setU16(EtherType.vlan.rawValue, at: 12)
            frame.bytes.setU16(vlanTag.controlInformation, at: 14)
            frame.bytes.setU16(etherType.rawValue, at: 16)
        } else {
            frame.bytes.setU16(etherType.rawValue, at: 12)
        }
    }
}
