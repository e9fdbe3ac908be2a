import Glibc
@testable import Sockets
import Testing

/// glibc's malloc_usable_size (malloc.h is not in Swift's Glibc module).
@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer?) -> Int

/// Issue 18 counts bytes per idle connection: a socket entry is one of them
/// per connection, so what only AF_INET6 sockets and MSG_PEEK use lives out
/// of line, and the interest sets watching a socket are kept inline.
@Suite("Socket entry footprint")
struct SocketEntryFootprintTests {
    static func entry() -> SocketEntry {
        SocketEntry(kind: .stream, nonBlocking: true, options: SocketOptionValues(receiveBufferSize: 4096, sendBufferSize: 4096))
    }

    @Test("an IPv4 socket's entry stays small and makes no out-of-line part")
    func ipv4EntryIsSmall() {
        let entry = Self.entry()
        let bytes = mallocUsableSize(Unmanaged.passUnretained(entry).toOpaque())
        // 328 with the IPv6 ends and the peeked datagram inline (session 7), 232 without.
        #expect(bytes <= 248, "SocketEntry takes \(bytes) bytes of heap")
        entry.local6 = nil
        entry.remote6 = nil
        entry.peeked = nil
        #expect(entry.extras == nil)
        entry.local6 = IPv6SocketAddress(.loopback, 80)
        #expect(entry.extras != nil && entry.local6 == IPv6SocketAddress(.loopback, 80) && entry.remote6 == nil)
        entry.local6 = nil
        #expect(entry.local6 == nil && entry.extras != nil)  // kept: a later peek allocates nothing
    }

    @Test("watchers: the first set inline, more beside it, each found and removed by identity")
    func watchers() throws {
        let net = try TwoCores()
        let sets = (0..<3).map { _ in net.a.makeInterestSet() }
        var watchers = SocketWatchers()
        func all() -> [ObjectIdentifier] {
            var seen: [ObjectIdentifier] = []
            watchers.forEach { seen.append(ObjectIdentifier($0)) }
            return seen
        }
        #expect(all().isEmpty)
        for set in sets { watchers[ObjectIdentifier(set)] = set }
        #expect(Set(all()) == Set(sets.map(ObjectIdentifier.init)) && all().count == 3)
        watchers[ObjectIdentifier(sets[0])] = sets[0]  // again: no duplicate
        #expect(all().count == 3)
        watchers[ObjectIdentifier(sets[0])] = nil  // the inline one: another takes its place
        #expect(watchers[ObjectIdentifier(sets[0])] == nil && watchers[ObjectIdentifier(sets[1])] === sets[1]
                && watchers[ObjectIdentifier(sets[2])] === sets[2] && all().count == 2)
        watchers[ObjectIdentifier(sets[2])] = nil
        watchers[ObjectIdentifier(sets[1])] = nil
        #expect(all().isEmpty)
    }
}
