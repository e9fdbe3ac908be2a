/// The libFuzzer input read front to back. Reading past the end gives
/// zeros and sets `exhausted`, so every input decodes to some program and
/// the decoder never fails on short input.
public struct FuzzBytes {
    let base: UnsafePointer<UInt8>?
    let count: Int
    var offset = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        base = data
        count = data == nil ? 0 : size
    }

    public var exhausted: Bool { offset >= count }

    mutating func u8() -> UInt8 {
        guard offset < count, let base else {
            offset += 1
            return 0
        }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    /// Up to `n` bytes (fewer at the end of the input).
    mutating func bytes(_ n: Int) -> [UInt8] {
        let available = max(0, min(n, count - offset))
        var result = [UInt8](repeating: 0, count: available)
        if available > 0, let base {
            for i in 0..<available { result[i] = base[offset + i] }
        }
        offset += max(n, 0)
        return result
    }

    /// A payload of `n` bytes: the input's next bytes when there are any,
    /// else a counting pattern (so long payloads cost few input bytes).
    mutating func payload(_ n: Int) -> [UInt8] {
        let seed = u8()
        return (0..<max(n, 0)).map { UInt8(truncatingIfNeeded: $0 &+ Int(seed)) }
    }
}
