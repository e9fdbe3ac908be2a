/// RSS's indirection table: the low bits of a flow's hash pick an entry,
/// the entry names the receive queue (and so the core) that owns the flow
/// (Microsoft RSS; virtio-net 1.2 §5.1.6.5.7.1 `indirection_table`).
public struct RSSRedirectionTable: Sendable, Equatable {
    /// Queue per entry; the count is a power of two.
    public let entries: [UInt16]
    public let queueCount: Int

    /// `entryCount` entries spread over `queues` queues in turn, as Linux
    /// and DPDK fill a default table.
    public init?(queues: Int, entryCount: Int = 128) {
        guard queues >= 1, queues <= Int(UInt16.max), entryCount >= queues,
              entryCount & (entryCount - 1) == 0 else { return nil }
        entries = (0..<entryCount).map { UInt16($0 % queues) }
        queueCount = queues
    }

    /// The queue of a flow with this hash.
    @inlinable
    public func queue(for hash: UInt32) -> Int {
        Int(entries[Int(hash) & (entries.count - 1)])
    }
}

/// What a driver programs into a device that does RSS: the Toeplitz key and
/// the redirection table (virtio-net: VIRTIO_NET_CTRL_MQ_RSS_CONFIG).
public struct RSSSettings: Sendable, Equatable {
    /// The hash key (40 bytes for IPv4 and IPv6 4-tuples).
    public var key: [UInt8]
    public var table: RSSRedirectionTable

    public init(key: [UInt8], table: RSSRedirectionTable) {
        self.key = key
        self.table = table
    }
}
