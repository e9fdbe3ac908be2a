/// The Toeplitz hash of receive-side scaling (Microsoft's RSS specification,
/// "Verifying the RSS Hash Calculation"; virtio-net 1.2 §5.1.6.4.3.1 and
/// Intel's 82599/E810 datasheets use the same function): each set bit of
/// the input, counted from the most significant bit of its first byte,
/// XORs in the 32 key bits that start at the same position.
///
/// The key is expanded once into a table of 256 values per input byte, so
/// a hash is one load and one XOR per input byte (12 for an IPv4 4-tuple)
/// and allocates nothing.
public final class ToeplitzHash: @unchecked Sendable {
    /// The 40-byte key of Microsoft's verification suite, also DPDK's and
    /// QEMU's default: what a NIC with no key set uses.
    public static let microsoftKey: [UInt8] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
        0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
        0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ]

    /// The longest input hashed: an IPv6 4-tuple (16 + 16 + 2 + 2 bytes).
    public static let maximumInputLength = 36

    public let key: [UInt8]
    /// `maximumInputLength` × 256 partial hashes: table[i * 256 + b] is what
    /// byte value b at input position i contributes.
    @usableFromInline let table: UnsafeMutablePointer<UInt32>

    /// A key needs 4 bytes more than the longest input: 40 bytes.
    public init?(key: [UInt8] = ToeplitzHash.microsoftKey) {
        guard key.count >= Self.maximumInputLength + 4 else { return nil }
        self.key = key
        table = .allocate(capacity: Self.maximumInputLength * 256)
        for position in 0..<Self.maximumInputLength {
            for value in 0..<256 {
                var sum: UInt32 = 0
                for bit in 0..<8 where value & (0x80 >> bit) != 0 {
                    sum ^= Self.window(key, startingAtBit: position * 8 + bit)
                }
                table[position * 256 + value] = sum
            }
        }
    }

    deinit { table.deallocate() }

    /// The 32 key bits that start at bit `n` (bit 0 = the first byte's MSB).
    static func window(_ key: [UInt8], startingAtBit n: Int) -> UInt32 {
        var bits: UInt64 = 0
        for k in 0..<5 {
            let index = n / 8 + k
            bits = bits << 8 | UInt64(index < key.count ? key[index] : 0)
        }
        return UInt32(truncatingIfNeeded: bits >> (8 - n % 8))
    }

    /// The hash of `bytes` (at most `maximumInputLength` of them are used).
    @inlinable
    public func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var sum: UInt32 = 0
        for i in 0..<min(bytes.count, Self.maximumInputLength) {
            sum ^= table[i &* 256 &+ Int(bytes[i])]
        }
        return sum
    }

    /// IPv4 2-tuple: source address, then destination address.
    @inlinable
    public func hash(source: IPv4Address, destination: IPv4Address) -> UInt32 {
        hashWord(source.value, at: 0) ^ hashWord(destination.value, at: 4)
    }

    /// IPv4 4-tuple as RSS orders it: source address, destination address,
    /// source port, destination port.
    @inlinable
    public func hash(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16) -> UInt32 {
        hash(source: source, destination: destination)
            ^ table[8 &* 256 &+ Int(sourcePort >> 8)] ^ table[9 &* 256 &+ Int(sourcePort & 0xff)]
            ^ table[10 &* 256 &+ Int(destinationPort >> 8)] ^ table[11 &* 256 &+ Int(destinationPort & 0xff)]
    }

    /// IPv6 2-tuple (Microsoft RSS NDIS_HASH_IPV6, virtio
    /// VIRTIO_NET_RSS_HASH_TYPE_IPv6): source address, then destination.
    @inlinable
    public func hash(source: IPv6Address, destination: IPv6Address) -> UInt32 {
        hashDoubleWord(source.high, at: 0) ^ hashDoubleWord(source.low, at: 8)
            ^ hashDoubleWord(destination.high, at: 16) ^ hashDoubleWord(destination.low, at: 24)
    }

    /// IPv6 4-tuple (NDIS_HASH_TCP_IPV6, virtio TCPv6/UDPv6): addresses,
    /// then source port and destination port at input bytes 32...35.
    @inlinable
    public func hash(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16) -> UInt32 {
        hash(source: source, destination: destination)
            ^ table[32 &* 256 &+ Int(sourcePort >> 8)] ^ table[33 &* 256 &+ Int(sourcePort & 0xff)]
            ^ table[34 &* 256 &+ Int(destinationPort >> 8)] ^ table[35 &* 256 &+ Int(destinationPort & 0xff)]
    }

    /// A big-endian 64-bit word at input positions `at`..<`at`+8.
    @inlinable
    func hashDoubleWord(_ word: UInt64, at position: Int) -> UInt32 {
        hashWord(UInt32(truncatingIfNeeded: word >> 32), at: position) ^ hashWord(UInt32(truncatingIfNeeded: word), at: position &+ 4)
    }

    /// A big-endian 32-bit word at input positions `at`..<`at`+4.
    @inlinable
    func hashWord(_ word: UInt32, at position: Int) -> UInt32 {
        table[position &* 256 &+ Int(word >> 24)] ^ table[(position &+ 1) &* 256 &+ Int((word >> 16) & 0xff)]
            ^ table[(position &+ 2) &* 256 &+ Int((word >> 8) & 0xff)] ^ table[(position &+ 3) &* 256 &+ Int(word & 0xff)]
    }
}
