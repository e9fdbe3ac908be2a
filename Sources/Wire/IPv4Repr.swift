/// An IPv4 header as a plain value. Options are not interpreted: only their
/// length is kept (`optionsLength`); the bytes stay in the packet
/// (`IPv4Packet.options`).
public struct IPv4Repr: Hashable, Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var `protocol`: IPProtocol
    /// Bytes after the header (total length minus header length).
    public var payloadLength: Int
    public var timeToLive: UInt8
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In bytes; a multiple of 8.
    public var fragmentOffset: Int
    public var dscp: UInt8
    public var ecn: UInt8
    /// Option bytes in the header (0...40, a multiple of 4).
    public var optionsLength: Int

    @inlinable
    public init(
        source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, payloadLength: Int,
        timeToLive: UInt8 = 64, identification: UInt16 = 0, dontFragment: Bool = false,
        moreFragments: Bool = false, fragmentOffset: Int = 0, dscp: UInt8 = 0, ecn: UInt8 = 0,
        optionsLength: Int = 0
    ) {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.payloadLength = payloadLength
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.dscp = dscp
        self.ecn = ecn
        self.optionsLength = optionsLength
    }

    /// 20 + options.
    @inlinable public var headerLength: Int { IPv4Packet.minimumHeaderLength + optionsLength }
    /// Header + payload: the total length field and the bytes `emit` needs.
    @inlinable public var totalLength: Int { headerLength + payloadLength }
    /// True for any piece of a fragmented datagram.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

    /// Reads a checked packet. Rejects a wrong header checksum (unless
    /// `verifyChecksum` is false because the NIC checked it) and fragments
    /// that would end past 65,535 bytes.
    @inlinable
    public static func parse(_ packet: IPv4Packet, verifyChecksum: Bool = true) throws(WireError) -> IPv4Repr {
        if verifyChecksum && !packet.isChecksumValid { throw .badChecksum }
        let payloadLength = packet.totalLength - packet.headerLength
        guard packet.fragmentOffset + payloadLength <= 65_535 else { throw .badFragmentOffset }
        return IPv4Repr(
            source: packet.source, destination: packet.destination, protocol: packet.protocol,
            payloadLength: payloadLength, timeToLive: packet.timeToLive,
            identification: packet.identification, dontFragment: packet.dontFragment,
            moreFragments: packet.moreFragments, fragmentOffset: packet.fragmentOffset,
            dscp: packet.dscp, ecn: packet.ecn, optionsLength: packet.headerLength - IPv4Packet.minimumHeaderLength)
    }

    /// Writes the header at the start of `packet` (which must hold
    /// `headerLength` bytes). Option bytes are zeroed (EOL); a caller that
    /// wants options writes them into `packet.options` and calls
    /// `packet.fillChecksum()` again. With `computeChecksum` false the
    /// checksum field is left zero for the NIC to fill.
    @inlinable
    public func emit(into packet: IPv4Packet, computeChecksum: Bool = true) {
        precondition(
            optionsLength >= 0 && optionsLength <= 40 && optionsLength % 4 == 0,
            "IPv4 emit: options length must be 0...40 and a multiple of 4")
        precondition(packet.bytes.count >= headerLength, "IPv4 emit: buffer smaller than the header")
        packet.setVersionAndHeaderLength(headerLength)
        packet.bytes.setU8(dscp << 2 | ecn & 0x03, at: 1)
        packet.totalLength = totalLength
        packet.identification = identification
        packet.flagsAndFragmentOffset =
            (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0)
            | UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1FFF
        packet.timeToLive = timeToLive
        packet.protocol = `protocol`
        packet.source = source
        packet.destination = destination
        if optionsLength > 0 { packet.options.initializeMemory(as: UInt8.self, repeating: 0) }
        packet.headerChecksum = 0
        if computeChecksum { packet.fillChecksum() }
    }
}
