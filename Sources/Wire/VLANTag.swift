/// An IEEE 802.1Q tag's control information (the 16 bits after TPID 0x8100).
public struct VLANTag: Hashable, Sendable {
    /// Priority code point (0...7).
    public var priority: UInt8
    /// Drop eligible indicator.
    public var dropEligible: Bool
    /// VLAN identifier (0...4095).
    public var identifier: UInt16

    /// Values outside their bit widths are truncated to fit.
    @inlinable
    public init(identifier: UInt16, priority: UInt8 = 0, dropEligible: Bool = false) {
        self.identifier = identifier & 0x0FFF
        self.priority = priority & 0x7
        self.dropEligible = dropEligible
    }

    /// From the tag control information field.
    @inlinable
    public init(controlInformation tci: UInt16) {
        self.init(identifier: tci & 0x0FFF, priority: UInt8(tci >> 13), dropEligible: tci & 0x1000 != 0)
    }

    /// The tag control information field.
    @inlinable
    public var controlInformation: UInt16 {
        UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | (identifier & 0x0FFF)
    }
}
