/// What one direction of the relay did, for --stats-json and the test
/// scripts that quote it.
public struct DirectionStatistics: Equatable, Sendable {
    /// Frames read from the input interface (outgoing frames not counted).
    public var framesIn: UInt64 = 0
    public var bytesIn: UInt64 = 0
    /// Frames written to the output interface (a duplicated frame counts twice).
    public var passed: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Dropped on purpose (--loss).
    public var dropped: UInt64 = 0
    /// Sent twice on purpose (--duplicate).
    public var duplicated: UInt64 = 0
    /// Held back on purpose (--reorder).
    public var reordered: UInt64 = 0
    /// Longer than the output's MTU + 14 (e.g. a GSO super-frame): dropped.
    public var oversized: UInt64 = 0
    /// Every delay slot was taken: dropped.
    public var queueOverflow: UInt64 = 0
    /// The output interface refused the frame: dropped.
    public var sendErrors: UInt64 = 0
    /// Frames the kernel dropped before we read them (our socket buffer was full).
    public var kernelDrops: UInt64 = 0
    /// Reads from the input interface that failed (other than "nothing waiting").
    public var receiveErrors: UInt64 = 0

    public init() {}

    /// Frames lost that nobody asked to lose.
    public var unintendedDrops: UInt64 { oversized + queueOverflow + sendErrors + kernelDrops }

    /// The counters by name (the JSON keys).
    public var named: [(String, UInt64)] {
        [("framesIn", framesIn), ("bytesIn", bytesIn), ("passed", passed), ("bytesOut", bytesOut),
         ("dropped", dropped), ("duplicated", duplicated), ("reordered", reordered),
         ("oversized", oversized), ("queueOverflow", queueOverflow), ("sendErrors", sendErrors),
         ("kernelDrops", kernelDrops), ("receiveErrors", receiveErrors)]
    }
}
