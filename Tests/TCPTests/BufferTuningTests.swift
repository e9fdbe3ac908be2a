import Testing
import Wire
@testable import TCP

/// Buffer auto-tuning (TCPConnection+BufferTuning.swift): over a path whose
/// round trip holds more than a 256 KiB window, the rings grow and a bulk
/// transfer needs fewer round trips; rings whose size the application set
/// (SO_RCVBUF / SO_SNDBUF), and the ring of a reader that does not read,
/// keep their size.
@Suite struct BufferTuningTests {
    static let startSize = 256 * 1024

    /// 1 Gbit/s, 10 ms each way: a 256 KiB window carries at most 105 Mbit/s.
    static var longPath: ImpairmentPattern {
        var pattern = ImpairmentPattern.clean
        pattern.delay = .milliseconds(10)
        pattern.bitsPerSecond = 1_000_000_000
        return pattern
    }

    static func options(grows: Bool) -> TCPConnectionOptions {
        var options = TCPConnectionOptions()
        options.receiveBufferGrows = grows
        options.sendBufferGrows = grows
        return options
    }

    /// 8 MiB client to server, the server reading all it has every step;
    /// returns the virtual time it took and the harness.
    static func bulkTransfer(grows: Bool) throws -> (TCPDuration, TransferHarness) {
        let harness = TransferHarness(clientOptions: options(grows: grows), serverOptions: options(grows: grows),
                                      toServer: longPath, toClient: longPath)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        let data = patternBytes(count: 8 << 20, seed: 42)
        let started = harness.now
        let received = harness.transfer(data, from: harness.client, to: harness.server)
        #expect(received == data)
        return (harness.now - started, harness)
    }

    @Test func ringsGrowWhenTheWindowLimitsABulkTransfer() throws {
        let (grownTime, grown) = try Self.bulkTransfer(grows: true)
        let (fixedTime, fixed) = try Self.bulkTransfer(grows: false)
        // The receiver's ring doubled at least three times (to 2 MiB or
        // more), and so did the sender's as its congestion window grew.
        #expect(grown.server.receiveBuffer.capacity >= 8 * Self.startSize)
        #expect(grown.server.statistics.receiveBufferGrowths >= 3)
        #expect(grown.client.sendBuffer.capacity > Self.startSize)
        #expect(grown.client.statistics.sendBufferGrowths >= 1)
        #expect(grown.server.receiveBuffer.capacity <= TCPConfiguration().maximumGrownBufferSize)
        // Fixed rings stay as opened.
        #expect(fixed.server.receiveBuffer.capacity == Self.startSize)
        #expect(fixed.client.sendBuffer.capacity == Self.startSize)
        #expect(fixed.server.statistics.receiveBufferGrowths == 0)
        // 8 MiB at 256 KiB per 20 ms round trip is at least 640 ms; grown,
        // slow start's doubling sets the pace.
        #expect(fixedTime.microseconds >= 640_000)
        #expect(grownTime.microseconds * 2 < fixedTime.microseconds,
                "grown \(grownTime), fixed \(fixedTime)")
    }

    @Test func aReaderThatDoesNotReadKeepsItsRing() throws {
        let harness = TransferHarness(toServer: Self.longPath, toClient: Self.longPath)
        try harness.open()
        #expect(harness.run(until: { harness.server.state == .established }))
        let data = patternBytes(count: 4 << 20, seed: 7)
        var offset = 0
        let end = harness.now + .seconds(2)
        while harness.now < end {
            offset += data.withUnsafeBytes { bytes in
                (try? harness.client.send(UnsafeRawBufferPointer(rebasing: bytes[offset...]))) ?? 0
            }
            harness.step()
        }
        // The window filled and closed (to within the 128-byte unit of
        // window scale 7); nothing was read, so nothing grew.
        #expect(harness.server.receiveBuffer.count > Self.startSize - 128)
        #expect(harness.server.receiveBuffer.capacity == Self.startSize)
        #expect(harness.server.statistics.receiveBufferGrowths == 0)
        // The sender's ring grew to twice the window the peer offered, no more.
        #expect(harness.client.sendBuffer.capacity <= 2 * Self.startSize)
    }

    @Test func theWindowScaleCoversTheLargestRing() {
        let configuration = TCPConfiguration()
        // 4 MiB needs a shift of 7 (4 MiB >> 6 is 65,536, one too many).
        #expect(configuration.receiveWindowScale(for: TCPConnectionOptions()) == 7)
        // A ring that does not grow: its own size (256 KiB needs 3).
        #expect(configuration.receiveWindowScale(for: Self.options(grows: false)) == 3)
        var large = Self.options(grows: false)
        large.receiveBufferSize = 8 << 20
        #expect(configuration.receiveWindowScale(for: large) == 8)
    }
}
