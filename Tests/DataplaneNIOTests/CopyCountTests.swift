import DataplaneNIO
import NIOCore
import Stack
import TCP
import Testing

/// Copies between packet memory and `ByteBuffer` (Docs/NIO.md "Copies"):
/// on stacks with receive lending (as `DataplaneEventLoopGroup(port:...)`
/// makes them), every payload size is copied once per direction. The
/// one copy each way is packet → read `ByteBuffer` and lent `ByteBuffer`
/// → packet; the stacks count every byte copied into a ring (the second
/// copy a path would make), and an echo of every size counts none.
@Suite("DataplaneNIO copies: one per direction")
struct CopyCountTests {
    /// Sizes from one byte to past the send ring's room (a write larger
    /// than SO_SNDBUF is lent in parts, never copied in part).
    static let sizes = [1, 17, 100, 600, 1279, 1280, 1460, 1461, 4000, 16_384, 300_000]

    @Test func echoOfEverySizeCopiesNothingIntoTheRings() throws {
        let loops = try TwoLoops(receiveLending: true)
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: TwoLoops.addressB, port: 7100).wait()
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 7100).wait()
        var expected: [UInt8] = []
        for (round, size) in Self.sizes.enumerated() {
            // One message at a time, as requests are: each is echoed before the next.
            let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ round) }
            expected += message
            try client.writeAndFlush(ByteBuffer(bytes: message)).wait()
            #expect(eventually(seconds: 20) { collector.bytes.count >= expected.count }, "size \(size)")
        }
        #expect(collector.bytes == expected)
        let stacks = loops.stacks
        let a = try loops.a.submit { stacks.value[0].tcpConnectionTotals }.wait()
        let b = try loops.b.submit { stacks.value[1].tcpConnectionTotals }.wait()
        for totals in [a, b] {
            #expect(totals.bytesReceived >= expected.count)
            #expect(totals.receiveBytesCopied == 0)  // every payload read from its packet buffer
            #expect(totals.sendBytesCopied == 0)  // every ByteBuffer lent to the send ring
        }
        try client.close().wait()
        try server.close().wait()
    }

    /// Without receive lending (the default outside DataplaneNIO's port
    /// groups) received payloads go through the ring: the counter sees them.
    @Test func withoutLendingReceivedBytesAreCopiedIntoTheRing() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let server = try DataplaneServerBootstrap(group: loops.b)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: TwoLoops.addressB, port: 7101).wait()
        let collector = Collector()
        let client = try DataplaneClientBootstrap(group: loops.a)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .connect(host: TwoLoops.addressB, port: 7101).wait()
        try client.writeAndFlush(ByteBuffer(bytes: Array(repeating: 7, count: 500))).wait()
        #expect(eventually { collector.bytes.count == 500 })
        let stacks = loops.stacks
        let b = try loops.b.submit { stacks.value[1].tcpConnectionTotals }.wait()
        #expect(b.receiveBytesCopied == 500)
        #expect(b.sendBytesCopied == 0)
        try client.close().wait()
        try server.close().wait()
    }
}
