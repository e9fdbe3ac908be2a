/// Port counters, as in rte_eth_stats. Drivers fold hardware counters in.
public struct PortStatistics: Sendable, Equatable {
    public var receivedPackets: UInt64 = 0
    public var receivedBytes: UInt64 = 0
    public var transmittedPackets: UInt64 = 0
    public var transmittedBytes: UInt64 = 0
    /// Frames the device dropped for want of a receive buffer.
    public var receiveMissed: UInt64 = 0
    /// Frames received with errors (CRC, length, ...), all kinds.
    public var receiveErrors: UInt64 = 0
    public var transmitErrors: UInt64 = 0
    /// Receive buffers that could not be refilled (pool empty).
    public var receiveNoBuffer: UInt64 = 0
    /// Named driver counters ("crc_errors", "gprc", ...).
    public var extended: [String: UInt64] = [:]

    public init() {}

    public static func += (lhs: inout PortStatistics, rhs: PortStatistics) {
        lhs.receivedPackets += rhs.receivedPackets
        lhs.receivedBytes += rhs.receivedBytes
        lhs.transmittedPackets += rhs.transmittedPackets
        lhs.transmittedBytes += rhs.transmittedBytes
        lhs.receiveMissed += rhs.receiveMissed
        lhs.receiveErrors += rhs.receiveErrors
        lhs.transmitErrors += rhs.transmitErrors
        lhs.receiveNoBuffer += rhs.receiveNoBuffer
        lhs.extended.merge(rhs.extended, uniquingKeysWith: +)
    }
}

/// Software counters of one queue, kept by the core that owns it (plain
/// integers: one writer, read for reports).
public struct QueueCounters: Sendable, Equatable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var errors: UInt64 = 0
    public var noBuffer: UInt64 = 0
    public init() {}
}
