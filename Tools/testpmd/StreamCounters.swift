/// Counters of one stream (receive queue -> transmit queue), written only
/// by the core that runs the stream and read by the reporting thread.
/// One cache line each, so cores do not share lines.
struct StreamCounter {
    var receivedPackets: UInt64 = 0
    var receivedBytes: UInt64 = 0
    var transmittedPackets: UInt64 = 0
    var transmittedBytes: UInt64 = 0
    /// Packets the transmit queue refused (full ring), freed by the core.
    var transmitDropped: UInt64 = 0
    var bursts: UInt64 = 0
    var emptyBursts: UInt64 = 0
    private var padding: UInt64 = 0
}

/// The counters of every stream, in memory that outlives the cores.
final class StreamCounters: @unchecked Sendable {
    let count: Int
    let storage: UnsafeMutablePointer<StreamCounter>

    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: max(1, count))
        storage.initialize(repeating: StreamCounter(), count: max(1, count))
    }

    deinit { storage.deallocate() }

    subscript(index: Int) -> StreamCounter { storage[index] }
}
