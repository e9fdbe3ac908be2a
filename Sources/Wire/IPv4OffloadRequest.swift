extension IPv4Packet {
    /// The IPv4 header of a frame whose sender asks a device to fill in
    /// checksums (NIC checksum offload). `frame` is the bytes at hand (the
    /// first segment of a packet), `l2` and `l3` the header lengths the
    /// sender declared, `transport` the protocol whose checksum it wants
    /// (nil: the IPv4 header checksum only).
    ///
    /// Nil when the request cannot be honoured: the headers, and the
    /// transport checksum field, are not all inside `frame`; the packet is
    /// not IPv4; or its header length is not `l3`.
    @inlinable
    public init?(offloadRequestIn frame: UnsafeMutableRawBufferPointer, l2: Int, l3: Int, transport: IPProtocol?) {
        guard l2 >= EthernetFrame.headerLength, l3 >= Self.minimumHeaderLength else { return nil }
        var needed = l2 + l3
        if let transport {
            guard let field = Self.transportChecksumOffset(for: transport) else { return nil }
            needed += field + 2
        }
        guard needed <= frame.count else { return nil }
        self.init(unchecked: frame.slice(l2..<frame.count))
        guard version == 4, headerLength == l3 else { return nil }
    }

    /// True when the packet carries `transport` and its total length
    /// covers its header: a transport checksum request that can be met.
    @inlinable
    public func carries(_ transport: IPProtocol) -> Bool {
        `protocol` == transport && totalLength >= headerLength
    }
}
