/// The Internet checksum (RFC 1071): the ones' complement of the ones'
/// complement sum of 16-bit big-endian words.
///
/// A "sum" here is the folded, not yet complemented 16-bit ones' complement
/// sum held in a UInt32 (always <= 0xFFFF), so sums of pieces (pseudo-header,
/// header, payload) can be combined before the final complement.
public enum InternetChecksum {
    /// Ones' complement sum of `bytes` read as big-endian 16-bit words (an odd
    /// last byte is padded with zero), added to `initial`.
    ///
    /// Adds 64 bits at a time with end-around carry: by RFC 1071's byte-order
    /// independence the sum of native words is the byte-swapped sum of
    /// network words, so one swap at the end gives the network-order result.
    /// Pieces combine only if every piece before the last has even length.
    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard var pointer = bytes.baseAddress else { return fold(UInt64(initial)) }
        var remaining = bytes.count
        var accumulator: UInt64 = 0
        while remaining >= 32 {
            accumulator = addWithCarry(accumulator, pointer.loadUnaligned(as: UInt64.self))
            accumulator = addWithCarry(accumulator, pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            accumulator = addWithCarry(accumulator, pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            accumulator = addWithCarry(accumulator, pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            pointer += 32
            remaining -= 32
        }
        while remaining >= 8 {
            accumulator = addWithCarry(accumulator, pointer.loadUnaligned(as: UInt64.self))
            pointer += 8
            remaining -= 8
        }
        if remaining >= 4 {
            accumulator = addWithCarry(accumulator, UInt64(pointer.loadUnaligned(as: UInt32.self)))
            pointer += 4
            remaining -= 4
        }
        if remaining >= 2 {
            accumulator = addWithCarry(accumulator, UInt64(pointer.loadUnaligned(as: UInt16.self)))
            pointer += 2
            remaining -= 2
        }
        if remaining == 1 {
            // The lone byte is the high half of a big-endian word padded with zero.
            let word = UInt16(bigEndian: UInt16(pointer.load(as: UInt8.self)) << 8)
            accumulator = addWithCarry(accumulator, UInt64(word))
        }
        let native = UInt16(truncatingIfNeeded: fold(accumulator))
        return fold(UInt64(UInt16(bigEndian: native)) + UInt64(initial))
    }

    /// Ones' complement sum of a mutable buffer (see `sum(_:initial:)`).
    @inlinable
    public static func sum(_ bytes: UnsafeMutableRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        sum(UnsafeRawBufferPointer(bytes), initial: initial)
    }

    /// The checksum field value for `bytes` (whose checksum field must be
    /// zero), starting from `initial` (e.g. a pseudo-header sum).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt16 {
        finish(sum(bytes, initial: initial))
    }

    /// True when `bytes`, checksum field included, sum to 0xFFFF with `initial`.
    @inlinable
    public static func isValid(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> Bool {
        sum(bytes, initial: initial) == 0xFFFF
    }

    /// The complement of a sum: the value for the checksum field.
    @inlinable
    public static func finish(_ sum: UInt32) -> UInt16 { ~UInt16(truncatingIfNeeded: fold(UInt64(sum))) }

    /// Adds two sums (ones' complement addition).
    @inlinable
    public static func combine(_ a: UInt32, _ b: UInt32) -> UInt32 { fold(UInt64(a) + UInt64(b)) }

    /// The sum of the IPv4 pseudo-header that UDP and TCP checksums cover:
    /// source, destination, zero + protocol, and the transport length.
    @inlinable
    public static func pseudoHeaderSum(
        source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, length: Int
    ) -> UInt32 {
        let words =
            UInt64(source.value >> 16) + UInt64(source.value & 0xFFFF) + UInt64(destination.value >> 16)
            + UInt64(destination.value & 0xFFFF) + UInt64(`protocol`.rawValue) + UInt64(UInt32(truncatingIfNeeded: length) & 0xFFFF)
        return fold(words)
    }

    /// The sum of the IPv6 pseudo-header (RFC 8200 §8.1) that UDP, TCP and
    /// ICMPv6 checksums cover: source, destination, the 32-bit upper-layer
    /// length and the next header (after any extension headers).
    @inlinable
    public static func pseudoHeaderSum(
        source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, length: Int
    ) -> UInt32 {
        @inline(__always) func words(_ x: UInt64) -> UInt64 {
            (x >> 48) + (x >> 32 & 0xFFFF) + (x >> 16 & 0xFFFF) + (x & 0xFFFF)
        }
        let length = UInt64(UInt32(truncatingIfNeeded: length))
        let total =
            words(source.high) + words(source.low) + words(destination.high) + words(destination.low)
            + (length >> 16) + (length & 0xFFFF) + UInt64(nextHeader.rawValue)
        return fold(total)
    }

    /// The checksum field value that asks a device to finish the sum: the
    /// sum itself, not complemented (the device adds the rest and
    /// complements), as `TransportChecksum.pseudoHeaderOnly` emits.
    @inlinable
    public static func seed(_ sum: UInt32) -> UInt16 { UInt16(truncatingIfNeeded: fold(UInt64(sum))) }

    /// The sum of a piece that starts at an odd byte of the whole: its own
    /// sum with the two bytes swapped (RFC 1071 §2(B), byte-order independence).
    @inlinable
    public static func oddOffset(_ sum: UInt32) -> UInt32 { (sum >> 8 | sum << 8) & 0xFFFF }

    /// RFC 1624 incremental update: the new checksum after a 16-bit field
    /// changed from `old` to `new` (HC' = ~(~HC + ~m + m')).
    @inlinable
    public static func update(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        finish(UInt32(~checksum) + UInt32(~old) + UInt32(new))
    }

    /// RFC 1624 incremental update for a 32-bit field (an address).
    @inlinable
    public static func update(_ checksum: UInt16, replacing old: UInt32, with new: UInt32) -> UInt16 {
        let oldHigh = ~UInt16(truncatingIfNeeded: old >> 16), oldLow = ~UInt16(truncatingIfNeeded: old)
        let total =
            UInt32(~checksum) + UInt32(oldHigh) + UInt32(oldLow) + (new >> 16) + (new & 0xFFFF)
        return finish(total)
    }

    /// Folds carries back in until the value fits 16 bits.
    @inlinable @inline(__always)
    public static func fold(_ value: UInt64) -> UInt32 {
        var x = (value & 0xFFFF_FFFF) + (value >> 32)
        x = (x & 0xFFFF) + (x >> 16)
        x = (x & 0xFFFF) + (x >> 16)
        x = (x & 0xFFFF) + (x >> 16)
        return UInt32(truncatingIfNeeded: x)
    }

    @inlinable @inline(__always)
    static func addWithCarry(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return result &+ (overflow ? 1 : 0)
    }
}
