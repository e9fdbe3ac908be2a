import CPlatform

/// A handle to one packet buffer in DMA memory (rte_mbuf's role): a single
/// pointer, copied freely, never reference counted.
///
/// Ownership is explicit: whoever holds the handle frees it once, or passes
/// it on (to transmit, to a ring, to a socket queue), after which it must
/// not touch it. Debug builds trap on double free and on use of a freed
/// buffer.
@frozen
public struct PacketBuffer: Hashable, @unchecked Sendable {
    public let header: UnsafeMutablePointer<PacketHeader>

    @inlinable
    public init(header: UnsafeMutablePointer<PacketHeader>) { self.header = header }

    @inlinable @inline(__always)
    func checkLive() {
        #if DEBUG
        precondition(header.pointee.state == PacketHeader.allocatedState, "use of a freed PacketBuffer")
        #endif
    }

    // MARK: Data of this segment

    /// The first data byte of this segment.
    @inlinable
    public var data: UnsafeMutableRawPointer {
        checkLive()
        return header.pointee.bufferAddress + Int(header.pointee.dataOffset)
    }

    /// The device address of `data`.
    @inlinable
    public var dataIOVA: UInt64 { header.pointee.bufferIOVA + UInt64(header.pointee.dataOffset) }

    /// Bytes of data in this segment.
    @inlinable
    public var length: Int {
        get { Int(header.pointee.dataLength) }
        nonmutating set {
            checkLive()
            precondition(newValue >= 0 && Int(header.pointee.dataOffset) + newValue <= Int(header.pointee.bufferLength),
                         "length \(newValue) exceeds the buffer")
            let delta = newValue - Int(header.pointee.dataLength)
            header.pointee.dataLength = UInt16(newValue)
            header.pointee.packetLength = UInt32(Int(header.pointee.packetLength) + delta)
        }
    }

    /// This segment's data as raw bytes.
    @inlinable
    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: data, count: length) }

    /// Bytes free before the data.
    @inlinable public var headroom: Int { Int(header.pointee.dataOffset) }

    /// Bytes free after the data of this segment.
    @inlinable
    public var tailroom: Int {
        Int(header.pointee.bufferLength) - Int(header.pointee.dataOffset) - Int(header.pointee.dataLength)
    }

    // MARK: Whole packet

    /// Bytes in all segments.
    @inlinable public var packetLength: Int { Int(header.pointee.packetLength) }
    @inlinable public var segmentCount: Int { Int(header.pointee.segmentCount) }
    @inlinable public var isContiguous: Bool { header.pointee.next == nil }

    /// The next segment, or nil.
    @inlinable
    public var nextSegment: PacketBuffer? { header.pointee.next.map(PacketBuffer.init(header:)) }

    @inlinable
    public var port: UInt16 {
        get { header.pointee.port }
        nonmutating set { header.pointee.port = newValue }
    }

    @inlinable
    public var rssHash: UInt32 {
        get { header.pointee.rssHash }
        nonmutating set { header.pointee.rssHash = newValue }
    }

    @inlinable
    public var offloadFlags: OffloadFlags {
        get { header.pointee.offloadFlags }
        nonmutating set { header.pointee.offloadFlags = newValue }
    }

    @inlinable
    public var vlanTag: UInt16 {
        get { header.pointee.vlanTag }
        nonmutating set { header.pointee.vlanTag = newValue }
    }

    /// Header lengths for checksum offload: Ethernet, IP, L4.
    @inlinable
    public func setHeaderLengths(l2: Int, l3: Int, l4: Int = 0) {
        header.pointee.l2Length = UInt8(truncatingIfNeeded: l2)
        header.pointee.l3Length = UInt8(truncatingIfNeeded: l3)
        header.pointee.l4Length = UInt8(truncatingIfNeeded: l4)
    }

    /// Payload bytes per segment for `.txTCPSegmentation`.
    @inlinable
    public var segmentSize: Int {
        get { Int(header.pointee.segmentSize) }
        nonmutating set { header.pointee.segmentSize = UInt16(truncatingIfNeeded: newValue) }
    }

    @inlinable
    public var userData: UInt64 {
        get { header.pointee.userData }
        nonmutating set { header.pointee.userData = newValue }
    }

    // MARK: Growing and shrinking

    /// Extends the data `count` bytes to the front (for a header) and
    /// returns the new start, or nil when the headroom is too small.
    @inlinable
    public func prepend(_ count: Int) -> UnsafeMutableRawPointer? {
        checkLive()
        guard count >= 0, count <= headroom else { return nil }
        header.pointee.dataOffset -= UInt16(count)
        header.pointee.dataLength += UInt16(count)
        header.pointee.packetLength += UInt32(count)
        return data
    }

    /// Extends the last segment by `count` bytes and returns where they
    /// start, or nil when its tailroom is too small.
    @inlinable
    public func append(_ count: Int) -> UnsafeMutableRawPointer? {
        checkLive()
        var last = self
        while let next = last.nextSegment { last = next }
        guard count >= 0, count <= last.tailroom else { return nil }
        let start = last.data + last.length
        last.header.pointee.dataLength += UInt16(count)
        header.pointee.packetLength += UInt32(count)
        return start
    }

    /// Removes `count` bytes from the front of this segment (a parsed
    /// header); false when the segment is shorter.
    @inlinable @inline(__always) @discardableResult
    public func removeFirst(_ count: Int) -> Bool {
        checkLive()
        guard count >= 0, count <= length else { return false }
        // Cannot wrap: count <= dataLength <= packetLength, and the data
        // (offset + length) lies within a buffer of at most 64 KiB.
        header.pointee.dataOffset &+= UInt16(truncatingIfNeeded: count)
        header.pointee.dataLength &-= UInt16(truncatingIfNeeded: count)
        header.pointee.packetLength &-= UInt32(truncatingIfNeeded: count)
        return true
    }

    /// Removes `count` bytes from the end of the last segment; false when
    /// that segment is shorter.
    @inlinable @discardableResult
    public func removeLast(_ count: Int) -> Bool {
        checkLive()
        var last = self
        while let next = last.nextSegment { last = next }
        guard count >= 0, count <= last.length else { return false }
        last.header.pointee.dataLength -= UInt16(count)
        header.pointee.packetLength -= UInt32(count)
        return true
    }

    /// Appends `segment` (and its chain) to this packet's chain.
    /// Fails when the chain would pass `maximumSegments`.
    public static let maximumSegments = 64

    @discardableResult
    public func chain(_ segment: PacketBuffer) -> Bool {
        checkLive()
        segment.checkLive()
        guard segmentCount + segment.segmentCount <= Self.maximumSegments else { return false }
        var last = self
        while let next = last.nextSegment { last = next }
        last.header.pointee.next = segment.header
        header.pointee.segmentCount += segment.header.pointee.segmentCount
        header.pointee.packetLength += segment.header.pointee.packetLength
        return true
    }

    /// A copy of a one-segment packet in a new buffer of `pool` (to hand one
    /// frame to several consumers); nil when the pool is empty or the packet
    /// is a chain or does not fit one buffer.
    public func copy(into pool: PacketPool) -> PacketBuffer? {
        guard isContiguous, let copy = pool.allocate() else { return nil }
        guard let start = copy.append(length) else {
            copy.free()
            return nil
        }
        start.copyMemory(from: data, byteCount: length)
        copy.offloadFlags = offloadFlags
        return copy
    }

    /// Copies `count` bytes starting at `offset` into the packet (across
    /// segments) into `destination`; false when the packet is shorter.
    public func copyBytes(from offset: Int, count: Int, to destination: UnsafeMutableRawPointer) -> Bool {
        checkLive()
        guard offset >= 0, count >= 0, offset + count <= packetLength else { return false }
        var segment: PacketBuffer? = self
        var skip = offset
        var copied = 0
        while let current = segment, copied < count {
            if skip >= current.length {
                skip -= current.length
            } else {
                let n = min(current.length - skip, count - copied)
                (destination + copied).copyMemory(from: current.data + skip, byteCount: n)
                copied += n
                skip = 0
            }
            segment = current.nextSegment
        }
        return copied == count
    }

    /// The packet's bytes (all segments) as an array; for tests and tools.
    public func contents() -> [UInt8] {
        var result = [UInt8](repeating: 0, count: packetLength)
        result.withUnsafeMutableBytes { _ = copyBytes(from: 0, count: packetLength, to: $0.baseAddress!) }
        return result
    }

    /// Replaces the data with `bytes` (single segment); false when they do
    /// not fit.
    @discardableResult
    public func setContents(_ bytes: some Collection<UInt8>) -> Bool {
        checkLive()
        guard isContiguous, bytes.count <= Int(header.pointee.bufferLength) - headroom else { return false }
        let destination = data
        var i = 0
        for byte in bytes {
            destination.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
        length = bytes.count
        return true
    }

    // MARK: Freeing

    /// Returns this packet (every segment) to its pool.
    @inlinable
    public func free() {
        var segment: UnsafeMutablePointer<PacketHeader>? = header
        while let current = segment {
            segment = current.pointee.next
            PacketPool.returnToOwner(current)
        }
    }

    /// Frees a burst of packets. Runs of single-segment packets from one
    /// pool go back in one bulk operation.
    @inlinable
    public static func free(_ packets: UnsafeMutableBufferPointer<PacketBuffer>) {
        guard let base = packets.baseAddress else { return }
        // A PacketBuffer is exactly a header pointer (one stored property).
        let headers = UnsafeMutableRawPointer(base)
            .assumingMemoryBound(to: UnsafeMutablePointer<PacketHeader>.self)
        var start = 0
        while start < packets.count {
            let owner = headers[start].pointee.pool
            var end = start
            while end < packets.count, headers[end].pointee.next == nil, headers[end].pointee.pool == owner {
                PacketPool.markFree(headers[end])
                end += 1
            }
            if end == start {
                packets[start].free()  // a chain: segment by segment
                start += 1
                continue
            }
            Unmanaged<PacketPool>.fromOpaque(owner)._withUnsafeGuaranteedRef { pool in
                pool.put(bulk: UnsafeBufferPointer(start: headers + start, count: end - start))
            }
            start = end
        }
    }
}
