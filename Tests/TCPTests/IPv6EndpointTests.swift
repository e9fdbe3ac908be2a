@testable import TCP
import Testing
import Wire

/// The IPv6-width endpoints: IPv4 as v4-mapped, wildcards, the 4-tuple's
/// size (issue 18 counts bytes per idle connection) and its hash.
@Suite struct IPv6EndpointTests {
    @Test func ipv4EndsAreV4MappedAndWildcardsMatchTheirFamily() {
        let v4 = TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: 80)
        #expect(v4.address == IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1)) && v4.isIPv4)
        #expect(v4.ipv4Address == IPv4Address(10, 0, 0, 1) && v4.description == "10.0.0.1:80")
        #expect(v4.wildcard == TCPEndpoint(address: IPv4Address.any, port: 80) && v4.wildcard.isWildcard)
        let v6 = TCPEndpoint(address: IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 2), port: 80)
        #expect(!v6.isIPv4 && v6.ipv4Address == nil && v6.description == "[fd20::2]:80")
        #expect(v6.wildcard == TCPEndpoint(address: .unspecified, port: 80) && v6.wildcard.isWildcard && !v6.isWildcard)
    }

    @Test func tupleSize() {
        // 2 x (16-byte address + port), 48 with padding: 32 bytes more than
        // the IPv4-only tuple (16) in the connection (the demux map keys
        // IPv4 tuples in 12 bytes: ConnectionFootprintTests).
        #expect(MemoryLayout<TCPFourTuple>.stride == 48)
        #expect(MemoryLayout<TCPOutgoingSegment>.stride <= 160)
    }

    @Test func distinctTuplesOfOnePeerHashApart() {
        let local = TCPEndpoint(address: IPv4Address(10, 0, 0, 2), port: 7)
        var hashes = Set<Int>()
        for port in UInt16(40000)..<41000 {
            hashes.insert(TCPFourTuple(local: local, remote: TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: port)).hashValue)
        }
        #expect(hashes.count == 1000)
    }
}
