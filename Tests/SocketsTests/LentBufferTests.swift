import Packets
import Sockets
import Stack
import TCP
import Testing
import Wire

/// Copies between packet memory and the application's buffers: a stream
/// send lends its buffers to the send ring (released once acknowledged),
/// and large in-order payloads stay in their packet buffers in the
/// receive ring until read (Docs/NIO.md "Copies").
@Suite("Sockets: lent send buffers and packet-backed receive")
struct LentBufferTests {
    /// Counts releases: each lent block's first word points at `counter`.
    final class Lender {
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        var blocks: [UnsafeMutableRawPointer] = []
        init() { counter.initialize(to: 0) }
        deinit {
            for block in blocks { block.deallocate() }
            counter.deallocate()
        }
        static let release: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
            context!.load(as: UnsafeMutablePointer<Int>.self).pointee += 1
        }
        func make(_ bytes: ArraySlice<UInt8>) -> TCPBorrowedBytes {
            let block = UnsafeMutableRawPointer.allocate(byteCount: 16 + bytes.count, alignment: 16)
            block.storeBytes(of: counter, as: UnsafeMutablePointer<Int>.self)
            bytes.withUnsafeBytes { (block + 16).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            blocks.append(block)
            return TCPBorrowedBytes(bytes: UnsafeRawBufferPointer(start: block + 16, count: bytes.count),
                                    release: Self.release, context: block)
        }
    }

    /// Two cores whose stacks lend received packets to TCP (`receiveLending`).
    static func lendingCores() throws -> TwoCores {
        var tcp = TCPConfiguration()
        tcp.receiveLending = true
        return try TwoCores(tcp: tcp)
    }

    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) } }

    /// Reads everything `socket` has now into `into`.
    static func drain(_ socket: Socket, into received: inout [UInt8]) {
        while let result = try? socket.receive(maximum: 65_536, flags: .dontWait), !result.bytes.isEmpty {
            received += result.bytes
        }
    }

    @Test func lentBuffersAreSentAndReleasedOnceAcknowledged() throws {
        let net = try TwoCores()
        let (client, server, _) = try net.connectedTCP()
        let lender = Lender()
        let data = Self.pattern(120_000)
        var offset = 0
        var owned = 0
        var received: [UInt8] = []
        var releasedAhead = false
        let list = UnsafeMutableBufferPointer<TCPBorrowedBytes>.allocate(capacity: 4)
        defer { list.deallocate() }
        #expect(net.pump(seconds: 10) {
            if offset < data.count {
                let count = min(4, (data.count - offset + 2999) / 3000)
                for i in 0..<count {
                    list[i] = lender.make(data[(offset + i * 3000)..<min(offset + (i + 1) * 3000, data.count)])
                }
                if let sent = try? net.a.send(client.descriptor, borrowing: UnsafeBufferPointer(rebasing: list[0..<count])) {
                    offset += sent.bytes
                    owned += sent.borrowed
                    // A buffer not kept whole was copied in part: the rest is sent again from a new one.
                }
            }
            Self.drain(server, into: &received)
            if lender.counter.pointee > owned { releasedAhead = true }
            return received.count == data.count && lender.counter.pointee == owned
        })
        #expect(received == data)
        #expect(owned > 0)
        #expect(!releasedAhead)
        try client.close()
        try server.close()
    }

    @Test func payloadsStayInPacketBuffersUntilReadAndAllComeBack() throws {
        let net = try Self.lendingCores()
        let capacity = net.pool.capacity
        do {
            let (client, server, listener) = try net.connectedTCP(port: 5001)
            let data = Self.pattern(150_000)
            var sent = 0
            net.pump(seconds: 2) {
                if sent < data.count {
                    sent += (try? data[sent...].withUnsafeBytes { try client.send($0, flags: .dontWait) }) ?? 0
                }
                return false
            }
            // Unread: B's receive ring holds full segments in their buffers.
            let held = capacity - net.pool.statistics.available
            #expect(held > 20)
            #expect(held <= capacity / 4 + 64)  // at most a quarter of the pool is lent
            var received: [UInt8] = []
            #expect(net.pump(seconds: 10) {
                if sent < data.count {
                    sent += (try? data[sent...].withUnsafeBytes { try client.send($0, flags: .dontWait) }) ?? 0
                }
                Self.drain(server, into: &received)
                return received.count == data.count
            })
            #expect(received == data)
            try client.close()
            try server.close()
            try listener.close()
            net.pump(seconds: 0.5)
        }
        #expect(net.pool.statistics.available == capacity)
    }

    @Test func closingWithUnreadPayloadsGivesTheBuffersBack() throws {
        let net = try Self.lendingCores()
        let capacity = net.pool.capacity
        let (client, server, listener) = try net.connectedTCP(port: 5002)
        let data = Self.pattern(60_000)
        _ = try data.withUnsafeBytes { try client.send($0, flags: .dontWait) }
        net.pump(seconds: 1)
        #expect(capacity - net.pool.statistics.available > 10)
        try server.close()  // unread data: a reset, the ring freed
        try listener.close()
        net.pump(seconds: 0.5)
        try client.close()
        net.pump(seconds: 0.5)
        #expect(net.pool.statistics.available == capacity)
    }
}
