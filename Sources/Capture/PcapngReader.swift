/// Reads back the pcapng this module writes (little-endian sections):
/// for tests, and for tools that summarise a capture they made.
public struct PcapngFile: Sendable {
    public struct Interface: Sendable, Equatable {
        public var linkType: UInt16
        public var snapLength: UInt32
        public var name: String?
        public var timestampResolution: UInt8?
    }

    public struct Packet: Sendable, Equatable {
        public var interface: UInt32
        public var nanoseconds: UInt64
        public var data: [UInt8]
        public var originalLength: Int
        public var flags: UInt32?
        public var dropCount: UInt64?
    }

    public struct Statistics: Sendable, Equatable {
        public var interface: UInt32
        public var received: UInt64?
        public var dropped: UInt64?
    }

    public var application: String?
    public var interfaces: [Interface] = []
    public var packets: [Packet] = []
    public var statistics: [Statistics] = []

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var offset: Int
        public var reason: String
        public var description: String { "pcapng: at byte \(offset): \(reason)" }
    }

    /// Parses a whole file; throws on the first block that is not well formed.
    public init(bytes: [UInt8]) throws(ParseError) {
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { throw ParseError(offset: offset, reason: "truncated block header") }
            let type = Self.u32(bytes, offset)
            let length = Int(Self.u32(bytes, offset + 4))
            guard length >= 12, length % 4 == 0, offset + length <= bytes.count else {
                throw ParseError(offset: offset, reason: "block length \(length) does not fit the file")
            }
            guard Int(Self.u32(bytes, offset + length - 4)) == length else {
                throw ParseError(offset: offset, reason: "trailing block length differs from the leading one")
            }
            if offset == 0 && type != Pcapng.sectionHeaderType {
                throw ParseError(offset: 0, reason: "the file does not start with a Section Header Block")
            }
            let body = Array(bytes[(offset + 8)..<(offset + length - 4)])
            try parseBlock(type: type, body: body, at: offset)
            offset += length
        }
    }

    private mutating func parseBlock(type: UInt32, body: [UInt8], at offset: Int) throws(ParseError) {
        func need(_ count: Int) throws(ParseError) {
            guard body.count >= count else { throw ParseError(offset: offset, reason: "block type \(type) body shorter than \(count)") }
        }
        switch type {
        case Pcapng.sectionHeaderType:
            try need(16)
            guard Self.u32(body, 0) == Pcapng.byteOrderMagic else { throw ParseError(offset: offset, reason: "byte-order magic is not little-endian 0x1A2B3C4D") }
            for (code, value) in try Self.options(body, from: 16, at: offset) where code == Pcapng.userApplication {
                application = String(decoding: value, as: UTF8.self)
            }
        case Pcapng.interfaceDescriptionType:
            try need(8)
            var interface = Interface(linkType: UInt16(body[0]) | UInt16(body[1]) << 8, snapLength: Self.u32(body, 4))
            for (code, value) in try Self.options(body, from: 8, at: offset) {
                if code == Pcapng.interfaceName { interface.name = String(decoding: value, as: UTF8.self) }
                if code == Pcapng.timestampResolution, let first = value.first { interface.timestampResolution = first }
            }
            interfaces.append(interface)
        case Pcapng.enhancedPacketType:
            try need(20)
            let captured = Int(Self.u32(body, 12))
            try need(20 + Pcapng.padded(captured))
            let id = Self.u32(body, 0)
            guard Int(id) < interfaces.count else { throw ParseError(offset: offset, reason: "packet on undeclared interface \(id)") }
            var packet = Packet(interface: id, nanoseconds: UInt64(Self.u32(body, 4)) << 32 | UInt64(Self.u32(body, 8)),
                                data: Array(body[20..<(20 + captured)]), originalLength: Int(Self.u32(body, 16)))
            for (code, value) in try Self.options(body, from: 20 + Pcapng.padded(captured), at: offset) {
                if code == Pcapng.packetFlags, value.count == 4 { packet.flags = Self.u32(value, 0) }
                if code == Pcapng.dropCount, value.count == 8 { packet.dropCount = Self.u64(value, 0) }
            }
            packets.append(packet)
        case Pcapng.interfaceStatisticsType:
            try need(12)
            var entry = Statistics(interface: Self.u32(body, 0))
            for (code, value) in try Self.options(body, from: 12, at: offset) where value.count == 8 {
                if code == Pcapng.receivedCount { entry.received = Self.u64(value, 0) }
                if code == Pcapng.droppedCount { entry.dropped = Self.u64(value, 0) }
            }
            statistics.append(entry)
        default:
            break   // Blocks we do not write are skipped, as readers must.
        }
    }

    /// The options from `start` to the end of the body, up to opt_endofopt.
    private static func options(_ body: [UInt8], from start: Int, at offset: Int) throws(ParseError) -> [(UInt16, [UInt8])] {
        var result: [(UInt16, [UInt8])] = []
        var i = start
        while i + 4 <= body.count {
            let code = UInt16(body[i]) | UInt16(body[i + 1]) << 8
            let length = Int(UInt16(body[i + 2]) | UInt16(body[i + 3]) << 8)
            if code == Pcapng.endOfOptions { return result }
            guard i + 4 + length <= body.count else { throw ParseError(offset: offset, reason: "option \(code) runs past its block") }
            result.append((code, Array(body[(i + 4)..<(i + 4 + length)])))
            i += 4 + Pcapng.padded(length)
        }
        guard i == body.count else { throw ParseError(offset: offset, reason: "options do not end on the block's end") }
        return result
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32
    }
}
