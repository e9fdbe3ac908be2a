/// Multicast Listener Discovery version 2 (RFC 3810): the query a router
/// sends (type 130, §5.1) and the report a listener answers with (type
/// 143 to ff02::16, §5.2). Reports go with hop limit 1 and a hop-by-hop
/// Router Alert option (RFC 2711, value 0 = MLD); queries are accepted
/// only from a link-local source with hop limit 1 (§5.1.14).
public enum MLD {
    public static let queryType = ICMPv6Type(rawValue: 130)
    public static let reportV1Type = ICMPv6Type(rawValue: 131)
    public static let doneV1Type = ICMPv6Type(rawValue: 132)
    public static let reportV2Type = ICMPv6Type(rawValue: 143)
    /// Queries, MLDv1 reports and dones, MLDv2 reports.
    @inlinable public static func isMLD(_ type: ICMPv6Type) -> Bool {
        (130...132).contains(type.rawValue) || type == reportV2Type
    }

    /// ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14).
    public static let allMLDv2Routers = IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 0x16)

    /// Multicast address record types (RFC 3810 §5.2.12).
    public enum RecordType: UInt8, Sendable {
        case modeIsInclude = 1, modeIsExclude = 2, changeToInclude = 3, changeToExclude = 4
    }

    /// A parsed query: the group asked about (:: for a general query) and
    /// the Maximum Response Delay in milliseconds (§5.1.3's exponential
    /// form for codes of 32768 and more). 24 bytes is MLDv1 (RFC 2710).
    public struct Query: Equatable, Sendable {
        public var group: IPv6Address
        public var maximumResponseMilliseconds: UInt32

        public init(group: IPv6Address, maximumResponseMilliseconds: UInt32) {
            self.group = group
            self.maximumResponseMilliseconds = maximumResponseMilliseconds
        }

        public static func parse(_ message: UnsafeRawBufferPointer, source: IPv6Address, hopLimit: UInt8) throws(WireError) -> Query {
            guard message.count >= 24 else { throw .truncated }
            guard message.count == 24 || message.count >= 28 else { throw .badLength }
            guard hopLimit == 1 else { throw .badHopLimit }
            guard source.isLinkLocal else { throw .badAddress }
            let code = UInt32(message.load(fromByteOffset: 4, as: UInt8.self)) << 8 | UInt32(message.load(fromByteOffset: 5, as: UInt8.self))
            let delay = code < 32768 ? code : (code & 0x0fff | 0x1000) << ((code >> 12 & 7) + 3)
            let group = IPv6Address(loadingFrom: message.baseAddress! + 8)
            guard group.isUnspecified || group.isMulticast else { throw .badAddress }
            return Query(group: group, maximumResponseMilliseconds: delay)
        }
    }

    /// Bytes of a report with `count` records, its hop-by-hop header first.
    public static func reportLength(records count: Int) -> Int { hopByHopLength + 8 + 20 * count }
    public static let hopByHopLength = 8

    /// Writes the hop-by-hop header (Router Alert, then PadN) and an MLDv2
    /// report of `records` (no sources) into `bytes`
    /// (`reportLength(records:)` long); the ICMPv6 checksum is the caller's.
    public static func emitReport(_ records: [(type: RecordType, group: IPv6Address)], into bytes: UnsafeMutableRawBufferPointer) {
        let hopByHop: [UInt8] = [IPProtocol.icmpv6.rawValue, 0, 5, 2, 0, 0, 1, 0]
        for (i, byte) in hopByHop.enumerated() { bytes[i] = byte }
        var at = hopByHopLength
        bytes[at] = reportV2Type.rawValue
        for i in 1..<6 { bytes[at + i] = 0 }
        bytes[at + 6] = UInt8(records.count >> 8)
        bytes[at + 7] = UInt8(records.count & 0xff)
        at += 8
        for record in records {
            bytes[at] = record.type.rawValue
            bytes[at + 1] = 0
            bytes[at + 2] = 0
            bytes[at + 3] = 0
            record.group.store(to: bytes.baseAddress! + at + 4)
            at += 20
        }
    }
}
