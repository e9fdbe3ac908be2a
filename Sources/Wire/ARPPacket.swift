/// ARP operation codes Dataplane handles.
public enum ARPOperation: UInt16, Sendable, Hashable {
    case request = 1
    case reply = 2
}

/// A view of an ARP packet for Ethernet hardware and IPv4 (RFC 826), the
/// only format whose offsets it knows: 28 bytes.
public struct ARPPacket {
    public let bytes: UnsafeMutableRawBufferPointer

    /// Length of an Ethernet/IPv4 ARP packet.
    public static let length = 28

    @inlinable public init(unchecked bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    /// Checks the formats (Ethernet = 1 / 6 bytes, IPv4 = 0x0800 / 4 bytes;
    /// else `.unsupported`) and that all 28 bytes are there.
    @inlinable
    public init(checking bytes: UnsafeMutableRawBufferPointer) throws(WireError) {
        guard bytes.count >= 8 else { throw .truncated }
        self.bytes = bytes
        guard hardwareType == 1, protocolType == .ipv4, hardwareLength == 6, protocolLength == 4 else {
            throw .unsupported
        }
        guard bytes.count >= Self.length else { throw .truncated }
    }

    @inlinable public var hardwareType: UInt16 {
        get { bytes.u16(at: 0) }
        nonmutating set { bytes.setU16(newValue, at: 0) }
    }
    @inlinable public var protocolType: EtherType {
        get { EtherType(rawValue: bytes.u16(at: 2)) }
        nonmutating set { bytes.setU16(newValue.rawValue, at: 2) }
    }
    @inlinable public var hardwareLength: UInt8 {
        get { bytes.u8(at: 4) }
        nonmutating set { bytes.setU8(newValue, at: 4) }
    }
    @inlinable public var protocolLength: UInt8 {
        get { bytes.u8(at: 5) }
        nonmutating set { bytes.setU8(newValue, at: 5) }
    }
    /// The raw operation code.
    @inlinable public var operation: UInt16 {
        get { bytes.u16(at: 6) }
        nonmutating set { bytes.setU16(newValue, at: 6) }
    }
    @inlinable public var senderHardwareAddress: MACAddress {
        get { bytes.mac(at: 8) }
        nonmutating set { bytes.setMAC(newValue, at: 8) }
    }
    @inlinable public var senderProtocolAddress: IPv4Address {
        get { bytes.ipv4(at: 14) }
        nonmutating set { bytes.setIPv4(newValue, at: 14) }
    }
    @inlinable public var targetHardwareAddress: MACAddress {
        get { bytes.mac(at: 18) }
        nonmutating set { bytes.setMAC(newValue, at: 18) }
    }
    @inlinable public var targetProtocolAddress: IPv4Address {
        get { bytes.ipv4(at: 24) }
        nonmutating set { bytes.setIPv4(newValue, at: 24) }
    }
}

/// An Ethernet/IPv4 ARP request or reply as a plain value.
public struct ARPRepr: Hashable, Sendable {
    public var operation: ARPOperation
    public var senderHardwareAddress: MACAddress
    public var senderProtocolAddress: IPv4Address
    public var targetHardwareAddress: MACAddress
    public var targetProtocolAddress: IPv4Address

    @inlinable
    public init(
        operation: ARPOperation, senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
        targetHardwareAddress: MACAddress, targetProtocolAddress: IPv4Address
    ) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    /// Reads a checked packet; operations other than request/reply are `.unsupported`.
    @inlinable
    public static func parse(_ packet: ARPPacket) throws(WireError) -> ARPRepr {
        guard let operation = ARPOperation(rawValue: packet.operation) else { throw .unsupported }
        return ARPRepr(
            operation: operation, senderHardwareAddress: packet.senderHardwareAddress,
            senderProtocolAddress: packet.senderProtocolAddress,
            targetHardwareAddress: packet.targetHardwareAddress,
            targetProtocolAddress: packet.targetProtocolAddress)
    }

    /// 28 bytes.
    @inlinable public var bufferLength: Int { ARPPacket.length }

    /// Writes all 28 bytes of `packet`.
    @inlinable
    public func emit(into packet: ARPPacket) {
        precondition(packet.bytes.count >= ARPPacket.length, "ARP emit: buffer smaller than 28 bytes")
        packet.hardwareType = 1
        packet.protocolType = .ipv4
        packet.hardwareLength = 6
        packet.protocolLength = 4
        packet.operation = operation.rawValue
        packet.senderHardwareAddress = senderHardwareAddress
        packet.senderProtocolAddress = senderProtocolAddress
        packet.targetHardwareAddress = targetHardwareAddress
        packet.targetProtocolAddress = targetProtocolAddress
    }
}
