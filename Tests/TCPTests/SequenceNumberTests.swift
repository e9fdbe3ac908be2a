import Testing
@testable import TCP

@Suite struct SequenceNumberTests {
    @Test func comparisonWrapsAround() {
        let near = TCPSequenceNumber(0xffff_fff0)
        let wrapped = near + 0x20
        #expect(wrapped.rawValue == 0x10)
        #expect(near < wrapped)
        #expect(!(wrapped < near))
        #expect(wrapped - near == 0x20)
        #expect(near - wrapped == -0x20)
    }

    @Test func isInHandlesWrap() {
        let low = TCPSequenceNumber(0xffff_ff00)
        let high = low + 0x200
        #expect(TCPSequenceNumber(5).isIn(low, upTo: high))
        #expect(!high.isIn(low, upTo: high))
        #expect(low.isIn(low, upTo: high))
    }
}
