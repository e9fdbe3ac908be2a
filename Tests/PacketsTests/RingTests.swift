import Synchronization
import Testing
@testable import Packets
import Platform

@Suite("Ring")
struct RingTests {
    @Test("capacities that are zero or not a power of two are refused", arguments: [0, -1, 3, 100, 1 << 32])
    func badCapacity(capacity: Int) {
        #expect(throws: RingError.self) { _ = try Ring<Int>(capacity: capacity) }
    }

    @Test("every slot is usable, bulk is all or none, burst takes what fits")
    func bulkAndBurst() throws {
        let ring = try Ring<Int>(capacity: 8, producers: .single, consumers: .single)
        let five = [1, 2, 3, 4, 5]
        #expect(five.withUnsafeBufferPointer { ring.enqueue(bulk: $0) })
        #expect(ring.count == 5 && ring.freeCount == 3)
        #expect(!five.withUnsafeBufferPointer { ring.enqueue(bulk: $0) }, "bulk of 5 into 3 free slots must fail")
        #expect(ring.count == 5)
        #expect(five.withUnsafeBufferPointer { ring.enqueue(burst: $0) } == 3)
        #expect(ring.isFull)
        #expect(!ring.enqueue(99))

        var out = [Int](repeating: 0, count: 10)
        #expect(!out.withUnsafeMutableBufferPointer { ring.dequeue(bulk: $0) }, "bulk of 10 from 8 must fail")
        #expect(ring.count == 8)
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(burst: $0) } == 8)
        #expect(Array(out.prefix(8)) == [1, 2, 3, 4, 5, 1, 2, 3])
        #expect(ring.isEmpty)
        #expect(ring.dequeue() == nil)
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(burst: $0) } == 0)
    }

    @Test("order is kept across many wrap-arounds of the indexes")
    func wrapAround() throws {
        let ring = try Ring<UInt64>(capacity: 4)
        var next: UInt64 = 0
        var expected: UInt64 = 0
        for round in 0..<10_000 {
            let n = round % 4 + 1
            var values = [UInt64]()
            for _ in 0..<n { values.append(next); next += 1 }
            #expect(values.withUnsafeBufferPointer { ring.enqueue(bulk: $0) })
            var out = [UInt64](repeating: 0, count: n)
            #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(bulk: $0) })
            for value in out { #expect(value == expected); expected += 1 }
        }
    }

    @Test("single producer, single consumer across two threads keeps order")
    func spscTwoThreads() throws {
        let ring = try Ring<Int>(capacity: 64, producers: .single, consumers: .single)
        let total = 200_000
        let group = try Cores.launch(on: [Cores.availableCPUs()[0]]) { _ in
            var sent = 0
            while sent < total {
                let batch = Array(sent..<min(sent + 7, total))
                sent += batch.withUnsafeBufferPointer { ring.enqueue(burst: $0) }
            }
        }
        var received = 0
        var inOrder = true
        var buffer = [Int](repeating: 0, count: 16)
        while received < total {
            let n = buffer.withUnsafeMutableBufferPointer { ring.dequeue(burst: $0) }
            for i in 0..<n where buffer[i] != received + i { inOrder = false }
            received += n
        }
        group.wait()
        #expect(inOrder)
        #expect(ring.isEmpty)
    }

    @Test("several producers and consumers: every sequence number is seen exactly once")
    func mpmcStress() throws {
        let ring = try Ring<UInt64>(capacity: 256)
        let producers = 3
        let consumers = 3
        let perProducer = 50_000
        let total = producers * perProducer
        let taken = Atomic<Int>(0)
        let counts = UnsafeMutablePointer<UInt8>.allocate(capacity: total)
        counts.initialize(repeating: 0, count: total)
        defer { counts.deallocate() }
        let countsAddress = UInt(bitPattern: counts)

        let cpus = Cores.availableCPUs()
        let plan = (0..<(producers + consumers)).map { cpus[$0 % cpus.count] }
        let group = try Cores.launch(on: plan) { core in
            let counts = UnsafeMutablePointer<UInt8>(bitPattern: countsAddress)!
            if core.index < producers {
                // Producer p sends p * perProducer ..< (p + 1) * perProducer, in
                // bulks and bursts of varying size.
                var next = core.index * perProducer
                let end = next + perProducer
                var size = 1
                var values = [UInt64](repeating: 0, count: 16)
                while next < end {
                    let n = min(size, end - next)
                    for i in 0..<n { values[i] = UInt64(next + i) }
                    let sent = values.withUnsafeBufferPointer { all in
                        let part = UnsafeBufferPointer(rebasing: all[0..<n])
                        return size % 2 == 0 ? (ring.enqueue(bulk: part) ? n : 0) : ring.enqueue(burst: part)
                    }
                    next += sent
                    size = size % 16 + 1
                }
            } else {
                var out = [UInt64](repeating: 0, count: 16)
                var size = 1
                while taken.load(ordering: .relaxed) < total {
                    let n = out.withUnsafeMutableBufferPointer { all in
                        let part = UnsafeMutableBufferPointer(rebasing: all[0..<size])
                        return size % 2 == 0 ? (ring.dequeue(bulk: part) ? size : 0) : ring.dequeue(burst: part)
                    }
                    for i in 0..<n { counts[Int(out[i])] &+= 1 }
                    if n > 0 { taken.add(n, ordering: .relaxed) }
                    size = size % 16 + 1
                }
            }
        }
        group.wait()
        var wrong = 0
        for i in 0..<total where counts[i] != 1 { wrong += 1 }
        #expect(wrong == 0, "\(wrong) sequence numbers not seen exactly once")
        #expect(taken.load(ordering: .relaxed) == total)
        #expect(ring.isEmpty)
    }
}
