/// SipHash-2-4 over a few 64-bit words: the keyed pseudo-random function F of
/// RFC 6528 (ISNs), of timestamp offsets, SYN cookies and ephemeral port
/// choice. Keyed with a secret chosen when the table is made.
public struct SipHashKey: Sendable, Hashable {
    public var k0: UInt64
    public var k1: UInt64
    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// A key from the system's random source.
    public static func random() -> SipHashKey {
        var generator = SystemRandomNumberGenerator()
        return SipHashKey(k0: generator.next(), k1: generator.next())
    }

    /// A 4-tuple's words: both addresses (IPv6 width) and the two ports.
    public typealias Words = (UInt64, UInt64, UInt64, UInt64, UInt64)

    /// SipHash-2-4 of the given words (each word is one 8-byte message block).
    public func hash(_ a: UInt64, _ b: UInt64 = 0, _ c: UInt64 = 0) -> UInt64 {
        var state = SipHashState(self)
        state.compress(a)
        state.compress(b)
        state.compress(c)
        return state.finish(length: 24)
    }

    /// SipHash-2-4 of a 4-tuple's words and one more (a domain or a counter).
    public func hash(_ words: Words, _ extra: UInt64) -> UInt64 {
        var state = SipHashState(self)
        state.compress(words.0)
        state.compress(words.1)
        state.compress(words.2)
        state.compress(words.3)
        state.compress(words.4)
        state.compress(extra)
        return state.finish(length: 48)
    }
}

/// SipHash's four state words (RFC-free: Aumasson and Bernstein, 2012).
struct SipHashState {
    var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

    @inline(__always) init(_ key: SipHashKey) {
        v0 = 0x736f_6d65_7073_6575 ^ key.k0
        v1 = 0x646f_7261_6e64_6f6d ^ key.k1
        v2 = 0x6c79_6765_6e65_7261 ^ key.k0
        v3 = 0x7465_6462_7974_6573 ^ key.k1
    }

    @inline(__always) mutating func round() {
        v0 &+= v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 &+= v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 &+= v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 &+= v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }

    @inline(__always) mutating func compress(_ word: UInt64) {
        v3 ^= word
        round(); round()
        v0 ^= word
    }

    @inline(__always) mutating func finish(length: UInt64) -> UInt64 {
        compress(length << 56)
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always) func rotatedLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
