import Testing
@testable import Packets

/// The copy runs at the end of the slot array: a bulk or burst that starts
/// at every index and crosses the end in two runs, for each sync mode, with
/// the mode read from the ring (arguments 0-3) and named by the call (4-7,
/// the compile-time path of `producers:`/`consumers:`).
@Suite("Ring wrap-around")
struct RingWrapTests {
    static let modes: [(RingSync, RingSync)] = [(.single, .single), (.multi, .multi), (.single, .multi), (.multi, .single)]
    /// The same modes named as compile-time choices (arguments 4-7).
    static let named: [(any RingSyncChoice.Type, any RingSyncChoice.Type)] = [
        (RingSyncSingle.self, RingSyncSingle.self), (RingSyncMulti.self, RingSyncMulti.self),
        (RingSyncSingle.self, RingSyncMulti.self), (RingSyncMulti.self, RingSyncSingle.self),
    ]

    static func choices(_ mode: Int) -> (any RingSyncChoice.Type, any RingSyncChoice.Type) {
        mode >= 4 ? named[mode % 4] : (RingSyncOfRing.self, RingSyncOfRing.self)
    }

    @Test("bulk of every size from every start index keeps order and values", arguments: 0..<8)
    func bulkAcrossTheEnd(mode: Int) throws {
        let (p, c) = Self.choices(mode)
        try bulkAcrossTheEnd(Self.modes[mode % 4], p, c)
    }

    func bulkAcrossTheEnd<P: RingSyncChoice, C: RingSyncChoice>(
        _ modes: (RingSync, RingSync), _ p: P.Type, _ c: C.Type
    ) throws {
        let (producers, consumers) = modes
        let capacity = 8
        let ring = try Ring<UInt64>(capacity: capacity, producers: producers, consumers: consumers)
        var next: UInt64 = 1
        var expected: UInt64 = 1
        for start in 0..<capacity {
            for size in 1...capacity {
                // Move the indexes to `start` (mod capacity) with single elements.
                while (next - 1) % UInt64(capacity) != UInt64(start) {
                    #expect(ring.enqueue(next, producers: p))
                    #expect(ring.dequeue(consumers: c) == next)
                    next += 1
                    expected += 1
                }
                let values = (0..<UInt64(size)).map { next + $0 }
                #expect(values.withUnsafeBufferPointer { ring.enqueue(bulk: $0, producers: p) })
                #expect(ring.count == size)
                next += UInt64(size)
                var out = [UInt64](repeating: 0, count: size)
                #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(bulk: $0, consumers: c) })
                #expect(out == (0..<UInt64(size)).map { expected + $0 }, "start \(start) size \(size)")
                expected += UInt64(size)
                #expect(ring.isEmpty)
            }
        }
    }

    @Test("bursts across the end take what fits, in order", arguments: 0..<8)
    func burstAcrossTheEnd(mode: Int) throws {
        let (p, c) = Self.choices(mode)
        try burstAcrossTheEnd(Self.modes[mode % 4], p, c)
    }

    func burstAcrossTheEnd<P: RingSyncChoice, C: RingSyncChoice>(
        _ modes: (RingSync, RingSync), _ p: P.Type, _ c: C.Type
    ) throws {
        let (producers, consumers) = modes
        let ring = try Ring<UInt32>(capacity: 16, producers: producers, consumers: consumers)
        var sent: UInt32 = 0
        var received: UInt32 = 0
        var input = [UInt32](repeating: 0, count: 24)
        var output = [UInt32](repeating: 0, count: 24)
        for round in 0..<200 {
            let offer = round % 23 + 1
            for i in 0..<offer { input[i] = sent + UInt32(i) }
            let free = ring.freeCount
            let added = input.withUnsafeBufferPointer { ring.enqueue(burst: UnsafeBufferPointer(rebasing: $0[0..<offer]), producers: p) }
            #expect(added == min(offer, free))
            sent += UInt32(added)
            let ask = (round * 7) % 19 + 1
            let held = ring.count
            let taken = output.withUnsafeMutableBufferPointer {
                ring.dequeue(burst: UnsafeMutableBufferPointer(rebasing: $0[0..<ask]), consumers: c)
            }
            #expect(taken == min(ask, held))
            for i in 0..<taken { #expect(output[i] == received + UInt32(i)) }
            received += UInt32(taken)
        }
        #expect(ring.count == Int(sent - received))
    }

    @Test("empty buffers move nothing and leave the ring as it was")
    func emptyBuffers() throws {
        let ring = try Ring<Int>(capacity: 4)
        #expect(ring.enqueue(7))
        #expect(ring.enqueue(burst: UnsafeBufferPointer(start: nil, count: 0)) == 0)
        #expect(ring.dequeue(burst: UnsafeMutableBufferPointer(start: nil, count: 0)) == 0)
        #expect(ring.count == 1 && ring.dequeue() == 7)
    }
}
