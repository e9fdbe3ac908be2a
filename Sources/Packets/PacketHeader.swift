/// The metadata of one packet buffer (rte_mbuf's role), stored in DMA
/// memory at the start of each pool element, before the headroom.
///
/// Nothing here is a Swift object: a buffer costs no allocation and no
/// reference counting, and a `PacketBuffer` is just a pointer to this.
public struct PacketHeader {
    /// Start of the buffer (headroom, then data room).
    public var bufferAddress: UnsafeMutableRawPointer
    /// IOVA of `bufferAddress`, computed once when the pool is made.
    public var bufferIOVA: UInt64
    /// The next segment of a multi-segment packet.
    public var next: UnsafeMutablePointer<PacketHeader>?
    /// The owning pool (an unretained `PacketPool`).
    public var pool: UnsafeMutableRawPointer
    public var offloadFlags: OffloadFlags
    /// Bytes in all segments (kept on the first segment).
    public var packetLength: UInt32
    public var rssHash: UInt32
    /// Offset of the first data byte from `bufferAddress`.
    public var dataOffset: UInt16
    /// Bytes of data in this segment.
    public var dataLength: UInt16
    /// Headroom plus data room.
    public var bufferLength: UInt16
    /// Input port, or `PacketHeader.noPort`.
    public var port: UInt16
    public var segmentCount: UInt16
    public var vlanTag: UInt16
    /// Header lengths for transmit checksum offload.
    public var l2Length: UInt8
    public var l3Length: UInt8
    public var l4Length: UInt8
    /// `allocated` or `free`: catches double free and use after free in
    /// debug builds.
    public var state: UInt8
    /// Free for the layer that owns the buffer now (the stack keeps a queue
    /// link or a timestamp here).
    public var userData: UInt64
    /// Payload bytes per segment the device cuts (the MSS less options)
    /// when `offloadFlags` holds `.txTCPSegmentation`; read only then.
    public var segmentSize: UInt16 = 0

    public static let noPort: UInt16 = 0xffff
    @usableFromInline static let allocatedState: UInt8 = 0xA1
    @usableFromInline static let freeState: UInt8 = 0xF3

    /// Bytes reserved for the header in each element (two cache lines).
    public static let reservedSize = 128
}
