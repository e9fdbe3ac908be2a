import Testing
@testable import Packets
import Platform

@Suite("PacketPool raw objects")
struct PacketPoolRawTests {
    @Test("raw buffers come and go with headers untouched, through the cache or the ring",
          arguments: [(false, 0), (true, 0), (true, 8)])
    func rawRoundTrip(asCore: Bool, cache: Int) throws {
        if asCore { try Cores.adoptCurrentThread(asCore: 6) }
        defer { if asCore { Cores.releaseCurrentThread() } }
        let pool = try makePool(capacity: 48, cacheSize: cache)
        var headers = [UnsafeMutablePointer<PacketHeader>](repeating: .init(bitPattern: 64)!, count: 48)
        // In bulks of 1, 5 and 20 (larger than the cache: straight from the ring).
        var got = 0
        for bulk in [1, 5, 20] {
            got += headers.withUnsafeMutableBufferPointer {
                pool.allocateRaw(into: UnsafeMutableBufferPointer(rebasing: $0[got..<got + bulk]))
            }
        }
        #expect(got == 26)
        #expect(Set(headers[0..<got]).count == got, "a buffer handed out twice")
        #expect(pool.statistics.available == 48 - 26)
        for header in headers[0..<got] {
            #expect(header.pointee.state == PacketHeader.freeState)
            #expect(header.pointee.dataOffset == UInt16(PacketPool.defaultHeadroom))
        }
        // Asking for more than is left gets what is left and counts a failure.
        let rest = headers.withUnsafeMutableBufferPointer {
            pool.allocateRaw(into: UnsafeMutableBufferPointer(rebasing: $0[got..<48]))
        }
        #expect(rest == 22)
        #expect(pool.statistics.allocationFailures == 0)
        var extra = [UnsafeMutablePointer<PacketHeader>](repeating: .init(bitPattern: 64)!, count: 2)
        #expect(extra.withUnsafeMutableBufferPointer { pool.allocateRaw(into: $0) } == 0)
        #expect(pool.statistics.allocationFailures == 1)
        headers.withUnsafeBufferPointer { all in
            pool.freeRaw(UnsafeBufferPointer(rebasing: all[0..<7]))
            pool.freeRaw(UnsafeBufferPointer(rebasing: all[7..<48]))
        }
        #expect(pool.statistics.available == 48)
        // Raw and packet allocations share the buffers.
        let packet = try #require(pool.allocate())
        #expect(packet.length == 0 && packet.headroom == PacketPool.defaultHeadroom)
        packet.free()
        #expect(pool.statistics.available == 48)
    }

    @Test("the cache hands back the last freed buffers first, in the order they were freed")
    func lastFreedFirst() throws {
        try Cores.adoptCurrentThread(asCore: 6)
        defer { Cores.releaseCurrentThread() }
        let pool = try makePool(capacity: 64, cacheSize: 16)
        var first = [UnsafeMutablePointer<PacketHeader>](repeating: .init(bitPattern: 64)!, count: 4)
        #expect(first.withUnsafeMutableBufferPointer { pool.allocateRaw(into: $0) } == 4)
        first.withUnsafeBufferPointer { pool.freeRaw($0) }
        var again = [UnsafeMutablePointer<PacketHeader>](repeating: .init(bitPattern: 64)!, count: 4)
        #expect(again.withUnsafeMutableBufferPointer { pool.allocateRaw(into: $0) } == 4)
        #expect(again == first)
        again.withUnsafeBufferPointer { pool.freeRaw($0) }
        pool.flushCurrentCoreCache()
        #expect(pool.statistics.available == 64 && pool.statistics.cached == 0)
    }
}
