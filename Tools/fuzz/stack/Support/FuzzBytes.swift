/// The libFuzzer input read front to back. Reading past the end gives
/// zeros and sets `exhausted`, so every input decodes to some program and
/// the decoder never fails on short input. Nothing here allocates: byte
/// runs are views of the input or of a fixed pattern (Docs/ROBUSTNESS.md,
/// "Execution rate").
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

    /// Up to `n` bytes of the input (fewer at its end), as a view of it.
    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer {
        let available = max(0, min(n, count - offset))
        let view = UnsafeRawBufferPointer(start: available > 0 ? base.map { UnsafeRawPointer($0 + offset) } : nil,
                                          count: available > 0 && base != nil ? available : 0)
        offset += max(n, 0)
        return view
    }

    /// A payload of `n` bytes (at most `maximumPayload`): a counting
    /// pattern starting at the input's next byte (so long payloads cost one
    /// input byte), a view of `pattern`.
    mutating func payload(_ n: Int) -> UnsafeRawBufferPointer {
        let seed = Int(u8())
        return UnsafeRawBufferPointer(rebasing: Self.pattern[seed..<(seed + min(max(n, 0), Self.maximumPayload))])
    }

    static let maximumPayload = 32 * 1024
    /// Byte i is i mod 256, so pattern[seed..<seed+n] counts up from seed.
    nonisolated(unsafe) static let pattern: UnsafeRawBufferPointer = {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: maximumPayload + 256, alignment: 16)
        for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i) }
        return UnsafeRawBufferPointer(bytes)
    }()
}
