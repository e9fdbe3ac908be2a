/// TCP option kinds (IANA) that `TCPOptions` parses and emits.
public enum TCPOptionKind {
    public static let endOfList: UInt8 = 0
    public static let noOperation: UInt8 = 1
    public static let maximumSegmentSize: UInt8 = 2
    public static let windowScale: UInt8 = 3
    public static let sackPermitted: UInt8 = 4
    public static let sack: UInt8 = 5
    public static let timestamp: UInt8 = 8
}

extension TCPOptions {
    /// Most option bytes a header can carry (data offset 15).
    public static let maximumLength = 40

    /// Parses the option bytes of a TCP header. EOL ends the list, NOP is
    /// skipped, unknown kinds are skipped by their length; a later duplicate
    /// overrides an earlier one. `.badOptionLength` for a length byte below 2,
    /// an option running past the header, a missing length byte, or a length
    /// wrong for its kind. More than four SACK blocks cannot fit 40 bytes;
    /// extra ones in a longer buffer are ignored.
    @inlinable
    public static func parse(_ bytes: UnsafeMutableRawBufferPointer) throws(WireError) -> TCPOptions {
        // Every data segment and ACK of a timestamped connection carries
        // exactly NOP NOP TS (RFC 7323 Appendix A's layout, what Linux and
        // `emit` send): read it at once, the same result as the loop below.
        if bytes.count == 12, bytes.u32(at: 0) == 0x0101_080A  /* NOP NOP kind 8 length 10 */ {
            return TCPOptions(timestamp: (bytes.u32(at: 4), bytes.u32(at: 8)))
        }
        var options = TCPOptions()
        var offset = 0
        let end = bytes.count
        while offset < end {
            let kind = bytes.u8(at: offset)
            if kind == TCPOptionKind.endOfList { break }
            if kind == TCPOptionKind.noOperation {
                offset += 1
                continue
            }
            guard offset + 1 < end else { throw .badOptionLength }
            let length = Int(bytes.u8(at: offset + 1))
            guard length >= 2, length <= end - offset else { throw .badOptionLength }
            switch kind {
            case TCPOptionKind.maximumSegmentSize:
                guard length == 4 else { throw .badOptionLength }
                options.maximumSegmentSize = bytes.u16(at: offset + 2)
            case TCPOptionKind.windowScale:
                guard length == 3 else { throw .badOptionLength }
                options.windowScale = bytes.u8(at: offset + 2)
            case TCPOptionKind.sackPermitted:
                guard length == 2 else { throw .badOptionLength }
                options.sackPermitted = true
            case TCPOptionKind.sack:
                guard length >= 10, (length - 2) % 8 == 0 else { throw .badOptionLength }
                var blocks = TCPSACKBlocks()
                var blockOffset = offset + 2
                while blockOffset < offset + length {
                    blocks.append(
                        TCPSACKBlock(left: bytes.u32(at: blockOffset), right: bytes.u32(at: blockOffset + 4)))
                    blockOffset += 8
                }
                options.sackBlocks = blocks
            case TCPOptionKind.timestamp:
                guard length == 10 else { throw .badOptionLength }
                options.timestamp = (bytes.u32(at: offset + 2), bytes.u32(at: offset + 6))
            default:
                break  // Unknown: skipped by its length.
            }
            offset += length
        }
        return options
    }

    /// Bytes `emit` writes: always a multiple of 4 and at most 40.
    @inlinable
    public var encodedLength: Int {
        var length = 0
        if maximumSegmentSize != nil { length += 4 }
        if timestamp != nil { length += 12 } else if sackPermitted { length += 4 }
        if windowScale != nil { length += 4 }
        let blocks = Self.sackBlocksThatFit(sackBlocks.count, after: length)
        if blocks > 0 { length += 4 + 8 * blocks }
        return length
    }

    /// How many SACK blocks fit after `used` option bytes (NOP NOP kind length + 8 each).
    @inlinable
    static func sackBlocksThatFit(_ count: Int, after used: Int) -> Int {
        min(count, max(0, (maximumLength - used - 4) / 8))
    }

    /// Writes the options at the start of `bytes` (at least `encodedLength`
    /// long), NOP-padded to 4-byte alignment: MSS; SACK-permitted +
    /// timestamps (or each alone after two NOPs); NOP + window scale; two
    /// NOPs + SACK blocks (as many as fit in 40 bytes, the first ones kept).
    /// Returns the bytes written (`encodedLength`).
    @inlinable @discardableResult
    public func emit(into bytes: UnsafeMutableRawBufferPointer) -> Int {
        precondition(bytes.count >= encodedLength, "TCP options emit: buffer smaller than the options")
        var offset = 0
        if let maximumSegmentSize {
            bytes.setU8(TCPOptionKind.maximumSegmentSize, at: offset)
            bytes.setU8(4, at: offset + 1)
            bytes.setU16(maximumSegmentSize, at: offset + 2)
            offset += 4
        }
        if let timestamp {
            if sackPermitted {
                bytes.setU8(TCPOptionKind.sackPermitted, at: offset)
                bytes.setU8(2, at: offset + 1)
            } else {
                bytes.setU8(TCPOptionKind.noOperation, at: offset)
                bytes.setU8(TCPOptionKind.noOperation, at: offset + 1)
            }
            bytes.setU8(TCPOptionKind.timestamp, at: offset + 2)
            bytes.setU8(10, at: offset + 3)
            bytes.setU32(timestamp.value, at: offset + 4)
            bytes.setU32(timestamp.echoReply, at: offset + 8)
            offset += 12
        } else if sackPermitted {
            bytes.setU8(TCPOptionKind.noOperation, at: offset)
            bytes.setU8(TCPOptionKind.noOperation, at: offset + 1)
            bytes.setU8(TCPOptionKind.sackPermitted, at: offset + 2)
            bytes.setU8(2, at: offset + 3)
            offset += 4
        }
        if let windowScale {
            bytes.setU8(TCPOptionKind.noOperation, at: offset)
            bytes.setU8(TCPOptionKind.windowScale, at: offset + 1)
            bytes.setU8(3, at: offset + 2)
            bytes.setU8(windowScale, at: offset + 3)
            offset += 4
        }
        let blocks = Self.sackBlocksThatFit(sackBlocks.count, after: offset)
        if blocks > 0 {
            bytes.setU8(TCPOptionKind.noOperation, at: offset)
            bytes.setU8(TCPOptionKind.noOperation, at: offset + 1)
            bytes.setU8(TCPOptionKind.sack, at: offset + 2)
            bytes.setU8(UInt8(2 + 8 * blocks), at: offset + 3)
            offset += 4
            for index in 0..<blocks {
                let block = sackBlocks[index]
                bytes.setU32(block.left, at: offset)
                bytes.setU32(block.right, at: offset + 4)
                offset += 8
            }
        }
        return offset
    }
}
