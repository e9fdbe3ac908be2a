import Testing
import Wire

/// MLDv2 (RFC 3810): the report's bytes and the query's checks.
@Suite("MLD")
struct MLDTests {
    @Test("a report: hop-by-hop Router Alert then type 143 with its records (§5.2)")
    func reportLayout() {
        let group = IPv6Address(0xff12, 0, 0, 0, 0, 0, 0xf42, 1)
        let length = MLD.reportLength(records: 2)
        #expect(length == 8 + 8 + 40)
        var bytes = [UInt8](repeating: 0xee, count: length)
        bytes.withUnsafeMutableBytes { MLD.emitReport([(.changeToExclude, group), (.modeIsExclude, .allRouters)], into: $0) }
        #expect(Array(bytes[0..<8]) == [58, 0, 5, 2, 0, 0, 1, 0])
        #expect(Array(bytes[8..<16]) == [143, 0, 0, 0, 0, 0, 0, 2])
        #expect(Array(bytes[16..<20]) == [4, 0, 0, 0])
        #expect(bytes[20..<36].elementsEqual([0xff, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0x42, 0, 1]))
        #expect(Array(bytes[36..<40]) == [2, 0, 0, 0])
        #expect(bytes[40..<56].elementsEqual([0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [2]))
    }

    @Test("a query: v1 (24 bytes) and v2 (28+), the exponential delay code, and §5.1.14's checks")
    func queryParse() throws {
        let router = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)
        var v2 = [UInt8](repeating: 0, count: 28)
        v2[0] = 130
        v2[4] = 0x27; v2[5] = 0x10  // 10,000 ms
        let general = try v2.withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) }
        #expect(general == MLD.Query(group: .unspecified, maximumResponseMilliseconds: 10_000))
        v2[4] = 0x80; v2[5] = 0x00  // exp 0, mant 0: (0x1000) << 3
        v2[8] = 0xff; v2[9] = 0x12; v2[23] = 1
        let specific = try v2.withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) }
        #expect(specific.maximumResponseMilliseconds == 0x1000 << 3 && specific.group == IPv6Address(0xff12, 0, 0, 0, 0, 0, 0, 1))
        let v1 = Array(v2[0..<24])
        #expect(throws: Never.self) { try v1.withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) } }
        #expect(throws: WireError.badLength) { try Array(v2[0..<26]).withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) } }
        #expect(throws: WireError.truncated) { try Array(v2[0..<20]).withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) } }
        #expect(throws: WireError.badHopLimit) { try v2.withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 2) } }
        #expect(throws: WireError.badAddress, "not link-local") {
            try v2.withUnsafeBytes { try MLD.Query.parse($0, source: IPv6Address(0xfd00, 0, 0, 0, 0, 0, 0, 1), hopLimit: 1) }
        }
        v2[8] = 0xfd  // a unicast group field
        #expect(throws: WireError.badAddress) { try v2.withUnsafeBytes { try MLD.Query.parse($0, source: router, hopLimit: 1) } }
    }
}
