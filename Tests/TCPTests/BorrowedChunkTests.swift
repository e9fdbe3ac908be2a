import Testing
import Wire
@testable import TCP

/// Buffers lent to a send ring (`send(borrowing:)`). Each is an allocation
/// of its own whose first word points at this lender's release counter, so
/// releases are counted per test (tests run in parallel); a buffer the ring
/// did not take is freed at once and not counted as lent.
final class Lender {
    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    private var memory: [UnsafeMutableRawPointer] = []
    /// Each lent buffer's end, as an offset in the stream sent.
    private(set) var ends: [Int] = []

    init() { counter.initialize(to: 0) }
    deinit {
        for block in memory { block.deallocate() }
        counter.deallocate()
    }

    var released: Int { counter.pointee }
    var lent: Int { ends.count }

    static let release: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
        context!.load(as: UnsafeMutablePointer<Int>.self).pointee += 1
    }

    /// Lends `data[range]` to `connection`; false when the ring did not take it.
    func lend(_ data: [UInt8], _ range: Range<Int>, to connection: TCPConnection) -> Bool {
        let block = UnsafeMutableRawPointer.allocate(byteCount: 16 + range.count, alignment: 16)
        block.storeBytes(of: counter, as: UnsafeMutablePointer<Int>.self)
        data[range].withUnsafeBytes { (block + 16).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let borrowed = TCPBorrowedBytes(bytes: UnsafeRawBufferPointer(start: block + 16, count: range.count),
                                        release: Self.release, context: block)
        guard (try? connection.send(borrowing: borrowed)) == true else {
            block.deallocate()
            return false
        }
        memory.append(block)
        ends.append(range.upperBound)
        return true
    }

    /// Buffers wholly within the first `acknowledged` bytes.
    func releasable(acknowledged: Int) -> Int { ends.prefix { $0 <= acknowledged }.count }
}

@Suite("TCP send ring with borrowed chunks")
struct BorrowedChunkTests {
    /// Lends `data` in `piece`-byte buffers as the client's ring takes them
    /// while the server reads; after every step, releases must not run ahead
    /// of the acknowledgments. Returns the bytes the server read.
    func transfer(_ harness: TransferHarness, _ data: [UInt8], piece: Int, lender: Lender) -> [UInt8] {
        var offset = 0
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let end = harness.now + .seconds(600)
        while received.count < data.count && harness.now < end {
            while offset < data.count, lender.lend(data, offset..<min(offset + piece, data.count), to: harness.client) {
                offset = min(offset + piece, data.count)
            }
            while true {
                let count = chunk.withUnsafeMutableBytes { (try? harness.server.receive(into: $0)) ?? 0 }
                if count == 0 { break }
                received.append(contentsOf: chunk[0..<count])
            }
            let acknowledged = offset - harness.client.bytesUnacknowledged
            #expect(lender.released <= lender.releasable(acknowledged: acknowledged))
            if harness.client.state == .closed { break }
            harness.step()
        }
        return received
    }

    func established(_ harness: TransferHarness) throws {
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
    }

    @Test func lentBuffersArriveAndAreReleasedWhenAcknowledged() throws {
        let harness = TransferHarness()
        try established(harness)
        let lender = Lender()
        let data = patternBytes(count: 300_000, seed: 7)
        #expect(transfer(harness, data, piece: 1000, lender: lender) == data)
        #expect(harness.run(until: { harness.client.bytesUnacknowledged == 0 }))
        #expect(lender.lent == 300)
        #expect(lender.released == lender.lent)  // every one back, none twice
    }

    @Test func lostSegmentsAreResentFromLentBuffers() throws {
        let harness = TransferHarness(toServer: ImpairmentPattern(dropEvery: 7, dropPhase: 3))
        try established(harness)
        let lender = Lender()
        let data = patternBytes(count: 200_000, seed: 11)
        #expect(transfer(harness, data, piece: 3000, lender: lender) == data)
        #expect(harness.toServer.dropped > 0)
        #expect(harness.run(until: { harness.client.bytesUnacknowledged == 0 }))
        #expect(lender.released == lender.lent)
    }

    @Test func mixedCopiedAndLentBytesKeepTheirOrder() throws {
        let harness = TransferHarness()
        try established(harness)
        let lender = Lender()
        var data: [UInt8] = []
        for round in 0..<40 {
            let copied = patternBytes(count: 100 + round, seed: UInt64(round) * 2 + 1)
            let lent = patternBytes(count: 700 + round * 13, seed: UInt64(round) * 2 + 2)
            #expect(copied.withUnsafeBytes { (try? harness.client.send($0)) ?? 0 } == copied.count)
            data += copied
            #expect(lender.lend(lent, 0..<lent.count, to: harness.client))
            data += lent
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        #expect(harness.run(until: {
            while true {
                let count = chunk.withUnsafeMutableBytes { (try? harness.server.receive(into: $0)) ?? 0 }
                if count == 0 { break }
                received.append(contentsOf: chunk[0..<count])
            }
            return received.count == data.count && harness.client.bytesUnacknowledged == 0
        }))
        #expect(received == data)
        #expect(lender.released == 40)
    }

    @Test func aResetReleasesEveryLentBuffer() throws {
        let lender = Lender()
        do {
            // The server never reads and advertises little: the lent bytes stay unacknowledged.
            var small = TCPConnectionOptions()
            small.receiveBufferSize = 4096
            let harness = TransferHarness(serverOptions: small)
            try established(harness)
            let data = patternBytes(count: 20_000, seed: 5)
            var offset = 0
            while offset < data.count, lender.lend(data, offset..<offset + 500, to: harness.client) { offset += 500 }
            for _ in 0..<20 { harness.step() }
            #expect(lender.lent > 10)
            #expect(lender.released < lender.lent)
            harness.client.abort()
            for _ in 0..<5 { harness.step() }
        }
        // The connections are gone: every lent buffer was released, once.
        #expect(lender.released == lender.lent)
    }
}

/// Segments delivered to the server with their "packet buffer" lent: each
/// payload is copied into a 2 KiB block (as a NIC's buffer holds it) whose
/// first word points at the counter of blocks given back; a block the ring
/// did not keep is given back at once, as the stack frees the packet.
final class PacketLender {
    static let bufferSize = 2048
    let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    private(set) var lent = 0
    private(set) var kept = 0

    init() { counter.initialize(to: 0) }
    deinit { counter.deallocate() }

    var givenBack: Int { counter.pointee }

    static let release: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
        context!.load(as: UnsafeMutablePointer<Int>.self).pointee += 1
        context!.deallocate()
    }

    func deliver(_ segment: WireSegment, to connection: TCPConnection, now: TCPInstant) {
        let block = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
        block.storeBytes(of: counter, as: UnsafeMutablePointer<Int>.self)
        let payload = UnsafeMutableRawBufferPointer(start: block + 128, count: segment.payload.count)
        segment.payload.withUnsafeBytes { if $0.count > 0 { payload.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        connection.lentPayload = TCPBorrowedBytes(bytes: UnsafeRawBufferPointer(payload), charge: Self.bufferSize,
                                                  release: Self.release, context: block)
        connection.handle(segment: segment.repr, payload: UnsafeRawBufferPointer(payload), source: segment.source,
                          destination: segment.destination, now: now)
        lent += 1
        if connection.lentPayloadTaken { kept += 1 } else { Self.release(block) }
        connection.lentPayload = nil
        connection.lentPayloadTaken = false
    }
}

@Suite("TCP receive ring keeping payloads in their packet buffers")
struct LentPayloadTests {
    /// The harness's step with the server's segments delivered through `lender`.
    func step(_ harness: TransferHarness, _ lender: PacketLender) {
        for segment in harness.client.drain(now: harness.now) { harness.toServer.send(segment, now: harness.now) }
        for segment in harness.server.drain(now: harness.now) { harness.toClient.send(segment, now: harness.now) }
        var next = harness.now + .milliseconds(1)
        for candidate in [harness.toServer.nextDelivery, harness.toClient.nextDelivery,
                          harness.client.nextDeadline, harness.server.nextDeadline] {
            if let candidate, candidate > harness.now, candidate < next { next = candidate }
        }
        harness.now = next
        for segment in harness.toServer.deliver(now: harness.now) { lender.deliver(segment, to: harness.server, now: harness.now) }
        for segment in harness.toClient.deliver(now: harness.now) { harness.client.handle(segment, now: harness.now) }
    }

    /// Client → server with the server's buffers lent, read in `readSize`
    /// pieces every step; checks the window never announced more than the
    /// lent buffers could hold. Returns the bytes read.
    func transfer(_ harness: TransferHarness, _ lender: PacketLender, _ data: [UInt8], readSize: Int) -> [UInt8] {
        var offset = 0
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: readSize)
        let end = harness.now + .seconds(600)
        while received.count < data.count && harness.now < end {
            if offset < data.count {
                offset += data.withUnsafeBytes { (try? harness.client.send(UnsafeRawBufferPointer(rebasing: $0[offset...]))) ?? 0 }
            }
            let count = chunk.withUnsafeMutableBytes { (try? harness.server.receive(into: $0)) ?? 0 }
            received.append(contentsOf: chunk[0..<count])
            // Honest window: what is announced and not yet received fits, even
            // if every byte of it came in a buffer of its own charge.
            let promised = max(harness.server.receiveAdvertisedEdge - harness.server.receiveNext, 0)
            #expect(promised <= harness.server.receiveBuffer.freeSpace)
            step(harness, lender)
        }
        return received
    }

    func lendingHarness(toServer: ImpairmentPattern = .clean) throws -> TransferHarness {
        var configuration = TCPConfiguration()
        configuration.receiveLending = true
        let harness = TransferHarness(configuration: configuration, toServer: toServer)
        try harness.open()
        #expect(harness.run(until: { harness.client.state == .established && harness.server.state == .established }))
        return harness
    }

    @Test func largeInOrderPayloadsStayInTheirBuffersAndComeBackWhenRead() throws {
        let lender = PacketLender()
        do {
            let harness = try lendingHarness()
            let data = patternBytes(count: 400_000, seed: 21)
            #expect(transfer(harness, lender, data, readSize: 3000) == data)
            #expect(lender.kept > 200)  // full segments: kept, not copied
            #expect(harness.server.receiveBuffer.isEmpty)
            // Read past: every kept buffer was given back, the rest at once.
            #expect(lender.givenBack == lender.lent)
        }
    }

    @Test func outOfOrderDataIsCopiedAndTheStreamStaysIntact() throws {
        let lender = PacketLender()
        do {
            let harness = try lendingHarness(toServer: ImpairmentPattern(dropEvery: 9, dropPhase: 4, reorderEvery: 5))
            let data = patternBytes(count: 300_000, seed: 22)
            #expect(transfer(harness, lender, data, readSize: 1000) == data)
            #expect(lender.kept > 0)
            #expect(lender.givenBack == lender.lent)
        }
    }

    @Test func buffersHeldByAnUnreadRingComeBackWhenTheConnectionGoes() throws {
        let lender = PacketLender()
        do {
            let harness = try lendingHarness()
            let data = patternBytes(count: 100_000, seed: 23)
            _ = data.withUnsafeBytes { try? harness.client.send($0) }
            for _ in 0..<200 { step(harness, lender) }
            #expect(lender.kept > 10)
            #expect(lender.givenBack < lender.lent)  // held by the unread ring
            harness.server.abort()
            for _ in 0..<5 { step(harness, lender) }
        }
        #expect(lender.givenBack == lender.lent)
    }
    /// Small writes (a request each, TCP_NODELAY): the reader keeps up, so
    /// every payload stays in its buffer and none is copied into the ring.
    @Test func smallPayloadsAreKeptWhileTheReaderKeepsUp() throws {
        let lender = PacketLender()
        do {
            let harness = try lendingHarness()
            harness.client.options.noDelay = true
            let data = patternBytes(count: 100 * 300, seed: 24)
            var offset = 0
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let end = harness.now + .seconds(600)
            while received.count < data.count && harness.now < end {
                if offset < data.count, harness.client.bytesUnacknowledged == 0 {
                    offset += data.withUnsafeBytes { (try? harness.client.send(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 100]))) ?? 0 }
                }
                step(harness, lender)
                let count = chunk.withUnsafeMutableBytes { (try? harness.server.receive(into: $0)) ?? 0 }
                received.append(contentsOf: chunk[0..<count])
            }
            #expect(received == data)
            #expect(lender.kept == 300)
            #expect(harness.server.statistics.receiveBytesCopied == 0)
        }
        #expect(lender.givenBack == lender.lent)
    }

    /// Small payloads with nobody reading: kept while the announced window's
    /// slack pays for their buffers, then copied; the window stays honest
    /// (checked every step by `transfer`) and nothing is dropped for room.
    @Test func smallPayloadsAreCopiedOnceTheSlackIsSpent() throws {
        let lender = PacketLender()
        do {
            let harness = try lendingHarness()
            harness.client.options.noDelay = true
            let data = patternBytes(count: 200_000, seed: 25)
            var offset = 0
            for _ in 0..<3000 where offset < data.count {
                offset += data.withUnsafeBytes { (try? harness.client.send(UnsafeRawBufferPointer(rebasing: $0[offset..<min(offset + 90, data.count)]))) ?? 0 }
                step(harness, lender)
                let promised = max(harness.server.receiveAdvertisedEdge - harness.server.receiveNext, 0)
                #expect(promised <= harness.server.receiveBuffer.freeSpace)
            }
            #expect(lender.kept > 5)
            #expect(harness.server.statistics.receiveBytesCopied > 0)
            #expect(harness.server.statistics.receiveBufferDrops == 0)
            let rest = transfer(harness, lender, Array(data[offset...]), readSize: 100_000)
            _ = rest
        }
        #expect(lender.givenBack == lender.lent)
    }
}
