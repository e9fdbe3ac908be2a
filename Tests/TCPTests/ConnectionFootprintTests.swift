import Glibc
@testable import TCP
import Testing
import Wire

/// glibc's malloc_usable_size (malloc.h is not in Swift's Glibc module).
@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer?) -> Int

/// What an idle connection costs its table (issue 18 counts bytes per idle
/// connection against Linux's): the demux key, the connection object, and
/// that a table's connections share its configuration instead of each
/// carrying a copy.
@Suite struct ConnectionFootprintTests {
    static let local4 = TCPEndpoint(address: IPv4Address(10, 0, 0, 2), port: 7)

    @Test func ipv4TuplesAreKeyedInTwelveBytes() {
        // The IPv6-wide tuple is 48: as a dictionary key it cost 1.3-2.7 times that per connection.
        #expect(MemoryLayout<TCPDemuxMap.IPv4Key>.stride == 12)
    }

    @Test func demuxMapKeepsTheFamiliesApart() {
        var map = TCPDemuxMap()
        let remote4 = TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: 40000)
        let v4 = TCPFourTuple(local: Self.local4, remote: remote4)
        // The same low 64 bits in an IPv6 (not v4-mapped) address must not find the IPv4 entry.
        let lookalike = IPv6Address(high: 0x2001_0db8_0000_0000, low: remote4.address.low)
        let v6 = TCPFourTuple(local: TCPEndpoint(address: IPv6Address(high: 0x2001_0db8_0000_0000, low: 2), port: 7),
                              remote: TCPEndpoint(address: lookalike, port: 40000))
        let mixed = TCPFourTuple(local: TCPEndpoint(address: .unspecified, port: 7), remote: remote4)
        map[v4] = 1
        #expect(map[v6] == nil && map[mixed] == nil)
        map[v6] = 2
        map[mixed] = 3
        #expect(map[v4] == 1 && map[v6] == 2 && map[mixed] == 3 && map.count == 3)
        map.removeValue(forKey: v4)
        #expect(map[v4] == nil && map[v6] == 2 && map[mixed] == 3 && map.count == 2)
        // Ports are both part of the key (local << 16 | remote): swapped ports are another tuple.
        let swapped = TCPFourTuple(local: TCPEndpoint(address: IPv4Address(10, 0, 0, 2), port: 40000),
                                   remote: TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: 7))
        map[v4] = 4
        #expect(map[swapped] == nil)
    }

    @Test func connectionsOfATableShareItsConfiguration() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 1, k1: 2))
        let now = TCPInstant.milliseconds(1000)
        let a = try table.connect(from: Self.local4.address, to: TCPEndpoint(address: IPv4Address(10, 0, 0, 1), port: 80), now: now)
        let b = try table.connect(from: IPv6Address(high: 0xfd20_0000_0000_0000, low: 2),
                                  to: TCPEndpoint(address: IPv6Address(high: 0xfd20_0000_0000_0000, low: 1), port: 80), now: now)
        let first = try #require(table.connection(a)), second = try #require(table.connection(b))
        #expect(first.shared === second.shared && first.shared === table.connectionShared)
        #expect(table.connectionCount == 2)
    }

    @Test func connectionObjectStaysSmall() {
        let connection = TCPConnection(configuration: TCPConfiguration(), local: Self.local4,
                                       secrets: TCPInitialSequenceNumbers(key: SipHashKey(k0: 1, k1: 2)))
        let bytes = mallocUsableSize(Unmanaged.passUnretained(connection).toOpaque())
        // 1,608 bytes with the configuration inline (session 7), 1,352 shared; the
        // bound leaves a little room for new fields, none for a copy of the configuration.
        #expect(bytes <= 1_400, "TCPConnection takes \(bytes) bytes of heap")
    }
}
