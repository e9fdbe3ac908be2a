/// TCP header flags.
public struct TCPFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x01) }
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x02) }
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x04) }
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x08) }
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x10) }
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x20) }
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x40) }
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x80) }
    public var description: String {
        let names: [(TCPFlags, String)] = [
            (.syn, "SYN"), (.fin, "FIN"), (.rst, "RST"), (.psh, "PSH"), (.ack, "ACK"), (.urg, "URG"),
            (.ece, "ECE"), (.cwr, "CWR"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "none" : set.joined(separator: "|")
    }
}

/// One SACK block: sequence numbers [left, right).
public struct TCPSACKBlock: Sendable, Hashable {
    public var left: UInt32
    public var right: UInt32
    @inlinable public init(left: UInt32, right: UInt32) {
        self.left = left
        self.right = right
    }
}

/// Up to four SACK blocks (what fits in 40 option bytes), stored inline so
/// that a parsed segment allocates nothing.
public struct TCPSACKBlocks: Sendable, Hashable, RandomAccessCollection {
    public static let capacity = 4
    @usableFromInline var storage: (TCPSACKBlock, TCPSACKBlock, TCPSACKBlock, TCPSACKBlock)
    @usableFromInline var _count: Int
    public var count: Int { _count }

    @inlinable
    public init() {
        let empty = TCPSACKBlock(left: 0, right: 0)
        storage = (empty, empty, empty, empty)
        _count = 0
    }

    public init(_ blocks: some Sequence<TCPSACKBlock>) {
        self.init()
        for block in blocks where count < Self.capacity { append(block) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(index: Int) -> TCPSACKBlock {
        precondition(index >= 0 && index < count, "SACK block index out of range")
        switch index {
        case 0: return storage.0
        case 1: return storage.1
        case 2: return storage.2
        default: return storage.3
        }
    }

    /// Adds a block; false when four are already there.
    @discardableResult
    public mutating func append(_ block: TCPSACKBlock) -> Bool {
        guard count < Self.capacity else { return false }
        switch count {
        case 0: storage.0 = block
        case 1: storage.1 = block
        case 2: storage.2 = block
        default: storage.3 = block
        }
        _count += 1
        return true
    }

    public static func == (a: TCPSACKBlocks, b: TCPSACKBlocks) -> Bool { a.elementsEqual(b) }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for block in self { hasher.combine(block) }
    }
}

/// The TCP options Dataplane understands; others are skipped by length when
/// parsing.
public struct TCPOptions: Sendable, Hashable {
    /// MSS (kind 2), on SYN segments.
    public var maximumSegmentSize: UInt16?
    /// Window scale shift (kind 3), on SYN segments.
    public var windowScale: UInt8?
    /// SACK permitted (kind 4), on SYN segments.
    public var sackPermitted: Bool
    /// SACK blocks (kind 5).
    public var sackBlocks: TCPSACKBlocks
    /// Timestamps (kind 8): TSval and TSecr.
    public var timestamp: (value: UInt32, echoReply: UInt32)?

    public init(
        maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
        sackBlocks: TCPSACKBlocks = TCPSACKBlocks(), timestamp: (value: UInt32, echoReply: UInt32)? = nil
    ) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.sackBlocks = sackBlocks
        self.timestamp = timestamp
    }

    public static func == (a: TCPOptions, b: TCPOptions) -> Bool {
        a.maximumSegmentSize == b.maximumSegmentSize && a.windowScale == b.windowScale
            && a.sackPermitted == b.sackPermitted && a.sackBlocks == b.sackBlocks
            && a.timestamp?.value == b.timestamp?.value && a.timestamp?.echoReply == b.timestamp?.echoReply
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(maximumSegmentSize)
        hasher.combine(windowScale)
        hasher.combine(sackPermitted)
        hasher.combine(sackBlocks)
        hasher.combine(timestamp?.value)
        hasher.combine(timestamp?.echoReply)
    }
}

/// A TCP header as a plain value (smoltcp's "Repr"): what the TCP state
/// machine reads and writes. The wire view (`TCPSegment`) is the only code
/// that knows byte offsets; it parses into and emits from this.
public struct TCPRepr: Sendable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    /// The window field as sent (not yet scaled).
    public var window: UInt16
    public var urgentPointer: UInt16
    public var options: TCPOptions

    public init(
        sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32 = 0,
        flags: TCPFlags, window: UInt16, urgentPointer: UInt16 = 0, options: TCPOptions = TCPOptions()
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.urgentPointer = urgentPointer
        self.options = options
    }
}
