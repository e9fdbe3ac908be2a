extension IPv6Packet {
    /// The IPv6 header of a frame whose sender asks a device to fill in its
    /// TCP or UDP checksum (or to cut it, TSO). `frame` is the bytes at hand
    /// (the first segment of a packet), `l2` and `l3` the header lengths the
    /// sender declared.
    ///
    /// Nil when the request cannot be honoured: the headers and the
    /// transport checksum field are not all inside `frame`; the packet is
    /// not IPv6; `l3` is not the bare 40-byte header directly followed by
    /// `transport` (the stack sends no extension headers with an offload
    /// request: a hop-by-hop or routing header would change what the
    /// pseudo-header and the device's cut see).
    @inlinable
    public init?(offloadRequestIn frame: UnsafeMutableRawBufferPointer, l2: Int, l3: Int, transport: IPProtocol) {
        guard l2 >= EthernetFrame.headerLength, l3 == Self.headerLength,
              let field = IPv4Packet.transportChecksumOffset(for: transport),
              l2 + l3 + field + 2 <= frame.count else { return nil }
        self.init(unchecked: frame.slice(l2..<frame.count))
        guard version == 6, nextHeader == transport else { return nil }
    }

    /// Stores the pseudo-header sum (RFC 8200 §8.1) for the transport bytes
    /// after the fixed header, `payloadLength` of them, not complemented,
    /// in the TCP or UDP checksum field: what a device with checksum
    /// offload finishes, and what a host's GSO (virtio TCPV6) adjusts per
    /// piece. The caller has checked the field lies inside `bytes`.
    @inlinable
    public func seedTransportChecksum() {
        guard let offset = IPv4Packet.transportChecksumOffset(for: nextHeader) else { return }
        let sum = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, nextHeader: nextHeader, length: payloadLength)
        bytes.setU16(InternetChecksum.seed(sum), at: Self.headerLength + offset)
    }
}
