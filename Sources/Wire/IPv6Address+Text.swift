/// Text forms of IPv6 addresses: parsing RFC 4291 §2.2 (groups, one "::",
/// a trailing dotted IPv4) and printing RFC 5952 §4 (lower case, no leading
/// zeros, the longest run of two or more zero groups as "::", the first
/// such run on a tie; ::ffff:a.b.c.d for v4-mapped).
extension IPv6Address {
    /// Parses text such as "fd20::2", "fe80::1%3" is not accepted (the
    /// scope is the socket layer's); nil for anything malformed.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 45 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawGap = false
        var index = 0
        // A leading "::" or a lone leading ":" (malformed).
        if utf8[0] == UInt8(ascii: ":") {
            guard utf8[1] == UInt8(ascii: ":") else { return nil }
            sawGap = true
            index = 2
        }
        while index < utf8.count {
            // One group, or a dotted IPv4 tail.
            var end = index
            while end < utf8.count, utf8[end] != UInt8(ascii: ":") { end += 1 }
            let piece = utf8[index..<end]
            if piece.contains(UInt8(ascii: ".")) {
                guard end == utf8.count, let v4 = IPv4Address(String(decoding: piece, as: UTF8.self)) else { return nil }
                let groups = [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                if sawGap { tail += groups } else { head += groups }
                index = end
                break
            }
            guard !piece.isEmpty, piece.count <= 4, let value = UInt16(String(decoding: piece, as: UTF8.self), radix: 16)
            else { return nil }
            if sawGap { tail.append(value) } else { head.append(value) }
            index = end
            guard index < utf8.count else { break }
            // Past a ':'; a second one is the gap (only one allowed).
            index += 1
            if index < utf8.count, utf8[index] == UInt8(ascii: ":") {
                guard !sawGap else { return nil }
                sawGap = true
                index += 1
            } else if index == utf8.count {
                return nil  // trailing single ':'
            }
        }
        let count = head.count + tail.count
        guard sawGap ? count <= 7 : count == 8 else { return nil }
        var groups = head + [UInt16](repeating: 0, count: 8 - count) + tail
        if !sawGap { groups = head }
        self.init(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
    }

    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:\(v4)" }
        // The longest run of zero groups (length >= 2), the first on a tie.
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0..<8 {
            if group(i) == 0 {
                if runStart < 0 { runStart = i }
                let length = i - runStart + 1
                if length > bestLength {
                    bestStart = runStart
                    bestLength = length
                }
            } else {
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(group(i), radix: 16)
            i += 1
        }
        return text
    }
}
