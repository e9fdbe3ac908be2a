/// The pcapng blocks a capture writes (draft-ietf-opsawg-pcapng): a Section
/// Header, one Interface Description per port, Enhanced Packet blocks and,
/// at the end, Interface Statistics. Every field is written little-endian,
/// as the Section Header's byte-order magic says, so a file reads the same
/// on any host.
public enum Pcapng {
    public static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    public static let interfaceDescriptionType: UInt32 = 1
    public static let interfaceStatisticsType: UInt32 = 5
    public static let enhancedPacketType: UInt32 = 6
    public static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    /// LINKTYPE_ETHERNET.
    public static let linkTypeEthernet: UInt16 = 1

    // Option codes.
    static let endOfOptions: UInt16 = 0
    static let userApplication: UInt16 = 4     // shb_userappl
    static let interfaceName: UInt16 = 2       // if_name
    static let timestampResolution: UInt16 = 9 // if_tsresol
    static let packetFlags: UInt16 = 2         // epb_flags
    static let dropCount: UInt16 = 4           // epb_dropcount
    static let receivedCount: UInt16 = 4       // isb_ifrecv
    static let droppedCount: UInt16 = 5        // isb_ifdrop

    /// Where a packet was going, for epb_flags bits 0-1.
    public enum Direction: UInt32, Sendable {
        case inbound = 1
        case outbound = 2
    }

    /// Bytes an Enhanced Packet Block takes for `captured` bytes of packet
    /// (with the flags option, and the drop count when `withDrops`).
    @inline(__always)
    public static func enhancedPacketLength(captured: Int, withDrops: Bool) -> Int {
        28 + padded(captured) + 8 + (withDrops ? 12 : 0) + 4 + 4
    }

    @inline(__always)
    static func padded(_ count: Int) -> Int { (count + 3) & ~3 }

    // MARK: Whole blocks as arrays (written once per file, not per packet)

    /// The Section Header Block, naming the writing application.
    public static func sectionHeader(application: String = "Dataplane") -> [UInt8] {
        var block = BlockBuilder(type: sectionHeaderType)
        block.u32(byteOrderMagic)
        block.u16(1)
        block.u16(0)
        block.u64(UInt64.max)   // section length: unknown (-1)
        block.option(userApplication, Array(application.utf8))
        return block.finish()
    }

    /// An Interface Description Block: Ethernet, nanosecond timestamps.
    public static func interfaceDescription(name: String, snapLength: Int) -> [UInt8] {
        var block = BlockBuilder(type: interfaceDescriptionType)
        block.u16(linkTypeEthernet)
        block.u16(0)
        block.u32(UInt32(clamping: snapLength))
        block.option(interfaceName, Array(name.utf8))
        block.option(timestampResolution, [9])   // 10^-9 s
        return block.finish()
    }

    /// An Interface Statistics Block: packets seen and dropped by the capture.
    public static func interfaceStatistics(interface: UInt32, nanoseconds: UInt64, received: UInt64, dropped: UInt64) -> [UInt8] {
        var block = BlockBuilder(type: interfaceStatisticsType)
        block.u32(interface)
        block.u32(UInt32(truncatingIfNeeded: nanoseconds >> 32))
        block.u32(UInt32(truncatingIfNeeded: nanoseconds))
        block.option(receivedCount, littleEndianBytes(received))
        block.option(droppedCount, littleEndianBytes(dropped))
        return block.finish()
    }

    static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    // MARK: The per-packet block, written in place

    /// Writes an Enhanced Packet Block at `destination` (which has
    /// `enhancedPacketLength(...)` bytes) and returns its length; the
    /// packet's first `captured` bytes are copied by `copyPacket` into the
    /// data area it is given (no allocation: this runs on a core).
    @inline(__always)
    public static func writeEnhancedPacket(
        at destination: UnsafeMutableRawPointer, interface: UInt32, nanoseconds: UInt64,
        captured: Int, original: Int, direction: Direction, drops: UInt64,
        copyPacket: (UnsafeMutableRawPointer) -> Void
    ) -> Int {
        let length = enhancedPacketLength(captured: captured, withDrops: drops > 0)
        var offset = 0
        func put32(_ value: UInt32) {
            destination.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        put32(enhancedPacketType)
        put32(UInt32(length))
        put32(interface)
        put32(UInt32(truncatingIfNeeded: nanoseconds >> 32))
        put32(UInt32(truncatingIfNeeded: nanoseconds))
        put32(UInt32(captured))
        put32(UInt32(truncatingIfNeeded: original))
        copyPacket(destination + offset)
        let pad = padded(captured) - captured
        if pad > 0 { (destination + offset + captured).initializeMemory(as: UInt8.self, repeating: 0, count: pad) }
        offset += padded(captured)
        put32(UInt32(packetFlags) | 4 << 16)
        put32(direction.rawValue)
        if drops > 0 {
            put32(UInt32(dropCount) | 8 << 16)
            put32(UInt32(truncatingIfNeeded: drops))
            put32(UInt32(truncatingIfNeeded: drops >> 32))
        }
        put32(0)   // opt_endofopt
        put32(UInt32(length))
        return length
    }
}

/// Builds one block in an array: body, options, and both length fields.
struct BlockBuilder {
    var bytes: [UInt8] = []

    init(type: UInt32) {
        u32(type)
        u32(0)   // total length, filled by finish()
    }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        u32(UInt32(truncatingIfNeeded: value))
        u32(UInt32(truncatingIfNeeded: value >> 32))
    }

    mutating func option(_ code: UInt16, _ value: [UInt8]) {
        u16(code)
        u16(UInt16(value.count))
        bytes += value
        bytes += [UInt8](repeating: 0, count: Pcapng.padded(value.count) - value.count)
    }

    mutating func finish() -> [UInt8] {
        u32(0)   // opt_endofopt
        let total = UInt32(bytes.count + 4)
        u32(total)
        for i in 0..<4 { bytes[4 + i] = UInt8(truncatingIfNeeded: total >> UInt32(8 * i)) }
        return bytes
    }
}
