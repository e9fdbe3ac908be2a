/// Every bound the stack keeps, with its default. All memory a stack uses
/// is sized from these at creation; nothing grows per packet.
public struct StackLimits: Sendable, Equatable {
    /// Frames taken from a device per receive call, and sent per transmit.
    public var burstSize = 32
    /// Frames per interface kept when the device's transmit ring is full,
    /// offered again first on the next poll step (beyond it: dropped,
    /// `drop.transmit.queueFull`). Pointers only: the frames are
    /// the pool's; 128 holds a 4 MiB window in 64 KiB TSO segments.
    public var transmitBacklog = 128

    // ARP
    /// Neighbour entries per stack (all interfaces).
    public var arpCacheEntries = 256
    /// A confirmed entry is used without question this long.
    public var arpReachableMilliseconds: UInt64 = 30_000
    /// Then it is stale: still used, refreshed by a request when used, and
    /// forgotten when not confirmed within this long.
    public var arpStaleMilliseconds: UInt64 = 60_000
    /// Requests for an unresolved address before its waiting packets are dropped.
    public var arpRequestAttempts = 4
    /// First retry interval; doubled after each attempt.
    public var arpRetryMilliseconds: UInt64 = 250
    /// Packets waiting for one address to resolve (a 65,507-byte datagram
    /// is 45 fragments at MTU 1500).
    public var arpPendingPerEntry = 64
    /// Packets waiting for resolution in the whole stack.
    public var arpPendingTotal = 256

    // IPv4 reassembly (RFC 791 / RFC 815)
    /// Datagrams being reassembled at once.
    public var reassemblyDatagrams = 32
    /// Fragments one datagram may have (65,535 bytes in 1,480-byte
    /// fragments is 45).
    public var reassemblyFragmentsPerDatagram = 64
    /// Bytes of packet buffers held by incomplete datagrams (whole buffers
    /// counted, not just data).
    public var reassemblyMemoryBytes = 4 << 20
    /// An incomplete datagram is dropped this long after its first fragment.
    public var reassemblyTimeoutMilliseconds: UInt64 = 30_000

    // ICMP
    /// Error messages (unreachables) sent per second, and the burst allowed.
    public var icmpErrorsPerSecond = 100
    public var icmpErrorBurst = 50

    // UDP
    /// Bound UDP endpoints (made as they are bound, each with its queue).
    public var udpEndpoints = 65536
    /// Datagrams queued on one endpoint before new ones are dropped.
    public var udpReceiveQueueDatagrams = 256
    /// Ephemeral ports for endpoints bound to port 0.
    public var udpEphemeralPorts: ClosedRange<UInt16> = 49152...65535

    // TCP
    /// Flows whose in-order segments are coalesced at once within a receive
    /// burst (software GRO, Docs/TCP.md); 0 turns coalescing off.
    public var tcpCoalescingFlows = 8

    /// Timers in the per-core wheel.
    public var timers = 4096
    /// Timer wheel resolution.
    public var timerTickMicroseconds: UInt64 = 1000

    public init() {}
}
