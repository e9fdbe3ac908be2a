import Testing
@testable import Packets

// A ring smoke test; it also keeps this target buildable on a fresh
// clone (git keeps no empty folders). The Packets work adds its suites.
@Suite struct RingOrderTests {
    @Test func singleElementsComeOutInOrderUntilEmpty() throws {
        let ring = try Ring<UInt32>(capacity: 8, producers: .single, consumers: .single)
        for value in 1...5 as ClosedRange<UInt32> { #expect(ring.enqueue(value)) }
        #expect(ring.count == 5)
        for value in 1...5 as ClosedRange<UInt32> { #expect(ring.dequeue() == value) }
        #expect(ring.dequeue() == nil)
        #expect(ring.isEmpty)
    }
}
