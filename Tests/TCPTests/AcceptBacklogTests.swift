import Testing
import Wire
@testable import TCP

/// The accept queue holds at most the listen backlog: a half-open child
/// whose handshake completes while the queue is full stays in SYN-RECEIVED
/// (its ACK dropped, as Linux keeps the request socket), and joins the
/// queue when the peer's next ACK finds room.
@Suite struct AcceptBacklogTests {
    static let server = TCPEndpoint(address: TablePair.addressB, port: 8080)
    let table = TCPEndpointTable(key: SipHashKey(k0: 7, k1: 8))

    func feed(_ segment: TCPRepr, at ms: UInt64) -> [WireSegment] {
        table.handle(segment: segment, payload: UnsafeRawBufferPointer(start: nil, count: 0), source: TablePair.addressA,
                     destination: TablePair.addressB, now: .milliseconds(ms))
        return TablePair.drain(table, now: .milliseconds(ms))
    }

    func syn(_ port: UInt16, seq: UInt32) -> TCPRepr {
        TCPRepr(sourcePort: port, destinationPort: Self.server.port, sequenceNumber: seq, flags: .syn, window: 65535,
                options: TCPOptions(maximumSegmentSize: 1460))
    }

    func ack(_ port: UInt16, seq: UInt32, ack: UInt32) -> TCPRepr {
        TCPRepr(sourcePort: port, destinationPort: Self.server.port, sequenceNumber: seq, acknowledgmentNumber: ack,
                flags: .ack, window: 1000)
    }

    func synACK(_ out: [WireSegment], port: UInt16) throws -> UInt32 {
        try #require(out.first { $0.repr.flags == [.syn, .ack] && $0.repr.destinationPort == port }).repr.sequenceNumber
    }

    @Test func completedChildrenNeverOverfillTheAcceptQueue() throws {
        let listener = try table.listen(on: Self.server, backlog: 1, synBacklog: 4)
        let first = try synACK(feed(syn(40000, seq: 1000), at: 100), port: 40000)
        let second = try synACK(feed(syn(40001, seq: 2000), at: 100), port: 40001)
        _ = feed(ack(40000, seq: 1001, ack: first &+ 1), at: 110)
        #expect(table.acceptQueueLength(listener) == 1)
        let replies = feed(ack(40001, seq: 2001, ack: second &+ 1), at: 110)
        #expect(table.acceptQueueLength(listener) == 1, "the accept queue went past its backlog of 1")
        #expect(table.statistics.handshakeACKsDroppedQueueFull == 1)
        #expect(replies.isEmpty, "the ACK is dropped quietly")
        let accepted = try #require(table.accept(listener))
        #expect(table.connection(accepted)?.tuple.remote.port == 40000)
        #expect(table.accept(listener) == nil)
        // The child's SYN-ACK goes again on its timer; the peer's ACK to it completes the child.
        table.poll(now: .milliseconds(1500))
        let again = try synACK(TablePair.drain(table, now: .milliseconds(1500)), port: 40001)
        #expect(again == second)
        _ = feed(ack(40001, seq: 2001, ack: second &+ 1), at: 1510)
        let later = try #require(table.accept(listener))
        #expect(table.connection(later)?.state == .established && table.connection(later)?.tuple.remote.port == 40001)
    }
}
