import Testing
@testable import Packets
import Platform

/// A small pool in anonymous memory (the host has no hugepages).
func makePool(capacity: Int = 64, cacheSize: Int? = nil, dataRoom: Int = 2048) throws(PacketPoolError) -> PacketPool {
    try PacketPool(
        name: "test", capacity: capacity, dataRoomSize: dataRoom, cacheSize: cacheSize,
        policy: .anonymous, iovaMode: .virtual)
}

@Suite("PacketPool")
struct PacketPoolTests {
    @Test("bad sizes are refused with a clear error")
    func badSizes() {
        #expect(throws: PacketPoolError.self) { _ = try makePool(capacity: 0) }
        #expect(throws: PacketPoolError.self) { _ = try makePool(capacity: 10, cacheSize: 100) }
        #expect(throws: PacketPoolError.self) { _ = try makePool(capacity: 10, dataRoom: 70_000) }
        do {
            _ = try makePool(capacity: 0)
        } catch {
            #expect(error.description.contains("at least one buffer"))
        }
    }

    @Test("missing hugepages are explained, not trapped",
          .enabled(if: HugepageInfo.all().allSatisfy { $0.free == 0 }, "this machine has free hugepages"))
    func missingHugepages() {
        do {
            _ = try PacketPool(name: "huge", capacity: 16, policy: .hugepagesRequired)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("hugepages"))
        }
    }

    @Test("exhaustion returns fewer buffers and is counted; freeing refills", arguments: [false, true])
    func exhaustionAndRefill(asCore: Bool) throws {
        if asCore { try Cores.adoptCurrentThread(asCore: 5) }
        defer { if asCore { Cores.releaseCurrentThread() } }
        let pool = try makePool(capacity: 40, cacheSize: 8)
        var buffers = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 64)!), count: 32)
        let first = buffers.withUnsafeMutableBufferPointer { pool.allocate(into: $0) }
        #expect(first == 32)
        #expect(pool.statistics.allocationFailures == 0)
        let second = buffers.withUnsafeMutableBufferPointer { all in
            pool.allocate(into: UnsafeMutableBufferPointer(rebasing: all[0..<8]))
        }
        #expect(second == 8)
        #expect(pool.allocate() == nil)
        #expect(pool.statistics.allocationFailures == 1)
        #expect(pool.statistics.available == 0)

        // Free everything (32 + 8 handles; the first 8 of the first batch were
        // overwritten by the second allocation, so free from both lists).
        let all = buffers
        for buffer in all { buffer.free() }
        #expect(pool.statistics.available == 32)
        // 8 from the first batch still held: re-allocate to find the count.
        var again = [PacketBuffer](repeating: all[0], count: 40)
        let got = again.withUnsafeMutableBufferPointer { pool.allocate(into: $0) }
        #expect(got == 32)
        for i in 0..<got { again[i].free() }
        #expect(pool.statistics.available == 32)
        #expect(pool.statistics.inUse == 8)
    }

    @Test("fresh buffers are empty with full headroom and a valid IOVA")
    func freshBuffer() throws {
        let pool = try makePool()
        let buffer = try #require(pool.allocate())
        defer { buffer.free() }
        #expect(buffer.length == 0 && buffer.packetLength == 0)
        #expect(buffer.headroom == PacketPool.defaultHeadroom)
        #expect(buffer.tailroom == PacketPool.defaultDataRoomSize)
        #expect(buffer.segmentCount == 1 && buffer.isContiguous)
        #expect(buffer.port == PacketHeader.noPort)
        #expect(buffer.dataIOVA == pool.memory.iova(of: buffer.data))
    }

    @Test("prepend, append and trims stay inside the buffer")
    func bounds() throws {
        let pool = try makePool(capacity: 8, dataRoom: 256)
        let buffer = try #require(pool.allocate())
        defer { buffer.free() }
        #expect(buffer.append(257) == nil)
        let tail = try #require(buffer.append(100))
        #expect(tail == buffer.data)
        #expect(buffer.length == 100 && buffer.tailroom == 156)
        #expect(buffer.prepend(129) == nil)
        let front = try #require(buffer.prepend(14))
        #expect(front == buffer.data && buffer.length == 114 && buffer.headroom == 114)
        #expect(!buffer.removeFirst(115))
        #expect(buffer.removeFirst(14) && buffer.length == 100)
        #expect(!buffer.removeLast(101))
        #expect(buffer.removeLast(40) && buffer.length == 60 && buffer.packetLength == 60)
        #expect(buffer.prepend(-1) == nil && buffer.append(-1) == nil)
        #expect(!buffer.setContents([UInt8](repeating: 1, count: 400)))
        #expect(buffer.setContents([1, 2, 3]) && buffer.contents() == [1, 2, 3])
    }

    @Test("segments chain, copy across boundaries and free together")
    func multiSegment() throws {
        let pool = try makePool(capacity: 8)
        let first = try #require(pool.allocate())
        let second = try #require(pool.allocate())
        first.setContents(Array(0..<10))
        second.setContents(Array(10..<25))
        #expect(first.chain(second))
        #expect(first.segmentCount == 2 && first.packetLength == 25 && !first.isContiguous)
        #expect(first.contents() == Array(0..<25))
        var middle = [UInt8](repeating: 0, count: 6)
        #expect(middle.withUnsafeMutableBytes { first.copyBytes(from: 7, count: 6, to: $0.baseAddress!) })
        #expect(middle == [7, 8, 9, 10, 11, 12])
        #expect(!middle.withUnsafeMutableBytes { first.copyBytes(from: 20, count: 6, to: $0.baseAddress!) })
        // append grows the last segment and the packet length.
        #expect(first.append(5) != nil && first.packetLength == 30 && second.length == 20)
        let before = pool.statistics.available
        first.free()
        #expect(pool.statistics.available == before + 2)
    }

    @Test("burst free returns runs in bulk, chains segment by segment, each to its own pool", arguments: [false, true])
    func burstFree(asCore: Bool) throws {
        if asCore { try Cores.adoptCurrentThread(asCore: 7) }
        defer { if asCore { Cores.releaseCurrentThread() } }
        let a = try makePool(capacity: 64, cacheSize: 8)
        let b = try makePool(capacity: 64, cacheSize: 8)
        var burst = [PacketBuffer]()
        for i in 0..<40 {
            let buffer = try #require((i % 7 == 3 ? b : a).allocate())
            burst.append(buffer)
        }
        let head = try #require(a.allocate())
        head.chain(try #require(b.allocate()))
        burst.insert(head, at: 20)
        burst.withUnsafeMutableBufferPointer { PacketBuffer.free($0) }
        #expect(a.statistics.available == 64)
        #expect(b.statistics.available == 64)
    }

    @Test("a double free traps in debug builds")
    func doubleFreeTraps() async {
        await #expect(processExitsWith: .failure) {
            let pool = try! PacketPool(name: "df", capacity: 4, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
            let buffer = pool.allocate()!
            buffer.free()
            buffer.free()
        }
    }

    @Test("use after free traps in debug builds")
    func useAfterFreeTraps() async {
        await #expect(processExitsWith: .failure) {
            let pool = try! PacketPool(name: "uaf", capacity: 4, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
            let buffer = pool.allocate()!
            buffer.free()
            _ = buffer.append(10)
        }
    }

    @Test("buffers freed on one core can be allocated on another")
    func crossCore() throws {
        let pool = try makePool(capacity: 512, cacheSize: 64)
        let handoff = try Ring<PacketBuffer>(capacity: 512)
        let cpus = Cores.availableCPUs()
        let group = try Cores.launch(on: [cpus[0], cpus[cpus.count > 1 ? 1 : 0]]) { core in
            if core.index == 0 {
                var moved = 0
                while moved < 5_000 {
                    if let buffer = pool.allocate() {
                        buffer.setContents([UInt8(truncatingIfNeeded: moved)])
                        while !handoff.enqueue(buffer) {}
                        moved += 1
                    }
                }
                pool.flushCurrentCoreCache()
            } else {
                var freed = 0
                while freed < 5_000 {
                    if let buffer = handoff.dequeue() {
                        buffer.free()
                        freed += 1
                    }
                }
                pool.flushCurrentCoreCache()
            }
        }
        group.wait()
        #expect(pool.statistics.available == 512)
    }
}
