/// An IPv6 fragment header (RFC 8200 §4.5) as a plain value.
public struct IPv6FragmentHeader: Hashable, Sendable {
    /// The header after the fragment header (first fragment's upper layer).
    public var nextHeader: IPProtocol
    /// In bytes; a multiple of 8.
    public var fragmentOffset: Int
    public var moreFragments: Bool
    public var identification: UInt32

    public static let length = 8

    @inlinable
    public init(nextHeader: IPProtocol, fragmentOffset: Int, moreFragments: Bool, identification: UInt32) {
        self.nextHeader = nextHeader
        self.fragmentOffset = fragmentOffset
        self.moreFragments = moreFragments
        self.identification = identification
    }

    /// Offset 0 and no more fragments: an atomic fragment, processed as a
    /// whole packet and never reassembled with others (RFC 6946 §4).
    @inlinable public var isAtomic: Bool { fragmentOffset == 0 && !moreFragments }

    /// Reads the 8 bytes at the start of `bytes` (the caller checked the count).
    @inlinable
    public static func parse(_ bytes: UnsafeMutableRawBufferPointer) -> IPv6FragmentHeader {
        let word = bytes.u16(at: 2)
        return IPv6FragmentHeader(
            nextHeader: IPProtocol(rawValue: bytes.u8(at: 0)), fragmentOffset: Int(word & 0xFFF8),
            moreFragments: word & 1 != 0, identification: bytes.u32(at: 4))
    }

    /// Writes the 8 bytes at the start of `bytes`.
    @inlinable
    public func emit(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.length, "IPv6 fragment header emit: buffer below 8 bytes")
        bytes.setU8(nextHeader.rawValue, at: 0)
        bytes.setU8(0, at: 1)
        bytes.setU16(UInt16(truncatingIfNeeded: fragmentOffset) & 0xFFF8 | (moreFragments ? 1 : 0), at: 2)
        bytes.setU32(identification, at: 4)
    }
}

/// What the extension headers of an IPv6 packet say (RFC 8200 §4), found by
/// walking them with bounds: where the upper-layer header starts and which
/// protocol it is, and the fragment header if the packet is a fragment.
/// Walking stops at the upper layer, at a non-atomic fragment header (what
/// follows is the fragmentable part, read after reassembly), at No Next
/// Header, or at ESP/AH (not handled: the stack counts them unsupported).
public struct IPv6HeaderChain: Hashable, Sendable {
    /// The protocol after the last header walked.
    public var upperLayer: IPProtocol
    /// Offset of the upper-layer header within the IPv6 payload.
    public var upperLayerOffset: Int
    /// The fragment header of a fragment (nil when there is none or it is atomic).
    public var fragment: IPv6FragmentHeader?
    /// Offset of that fragment header within the payload (the
    /// unfragmentable part ends there).
    public var fragmentHeaderOffset: Int
    /// Extension headers walked.
    public var headerCount: Int

    /// Chains longer than this are dropped: no legitimate packet needs more
    /// than a handful (RFC 8200 §4.1 lists at most 7 kinds), and the walk
    /// must stay bounded however the bytes were crafted.
    public static let maximumHeaders = 8

    @inlinable
    public init(upperLayer: IPProtocol, upperLayerOffset: Int, fragment: IPv6FragmentHeader? = nil,
                fragmentHeaderOffset: Int = 0, headerCount: Int = 0) {
        self.upperLayer = upperLayer
        self.upperLayerOffset = upperLayerOffset
        self.fragment = fragment
        self.fragmentHeaderOffset = fragmentHeaderOffset
        self.headerCount = headerCount
    }

    @inlinable static func isExtension(_ header: IPProtocol) -> Bool {
        switch header {
        case .ipv6HopByHop, .ipv6Routing, .ipv6Fragment, .ipv6DestinationOptions: true
        default: false
        }
    }

    /// Walks the headers of `payload` starting with `first` (the fixed
    /// header's next header). Hop-by-hop must come first (§4.1); options
    /// are checked (§4.2); a routing header with segments left is refused
    /// (type 0 by RFC 5095, any other because this host forwards nothing).
    @inlinable
    public static func parse(_ payload: UnsafeMutableRawBufferPointer, first: IPProtocol) throws(WireError) -> IPv6HeaderChain {
        var next = first
        var offset = 0
        var count = 0
        var sawFragment = false
        while isExtension(next) {
            count += 1
            guard count <= maximumHeaders else { throw .extensionChainTooLong }
            guard payload.count - offset >= 8 else { throw .truncated }
            let header = payload.slice(offset..<payload.count)
            switch next {
            case .ipv6Fragment:
                guard !sawFragment else { throw .badExtensionHeader }
                sawFragment = true
                let fragment = IPv6FragmentHeader.parse(header)
                if !fragment.isAtomic {
                    return IPv6HeaderChain(
                        upperLayer: fragment.nextHeader, upperLayerOffset: offset + IPv6FragmentHeader.length,
                        fragment: fragment, fragmentHeaderOffset: offset, headerCount: count)
                }
                next = fragment.nextHeader
                offset += IPv6FragmentHeader.length
                continue
            case .ipv6HopByHop:
                guard offset == 0 else { throw .badExtensionHeader }
                fallthrough
            case .ipv6DestinationOptions:
                let length = (Int(header.u8(at: 1)) + 1) * 8
                guard length <= header.count else { throw .truncated }
                try checkOptions(header.slice(2..<length))
                next = IPProtocol(rawValue: header.u8(at: 0))
                offset += length
            default:  // routing
                let length = (Int(header.u8(at: 1)) + 1) * 8
                guard length <= header.count else { throw .truncated }
                let segmentsLeft = header.u8(at: 3)
                if segmentsLeft != 0 {
                    throw header.u8(at: 2) == 0 ? .deprecatedRoutingHeader : .badExtensionHeader
                }
                next = IPProtocol(rawValue: header.u8(at: 0))
                offset += length
            }
        }
        return IPv6HeaderChain(upperLayer: next, upperLayerOffset: offset, headerCount: count)
    }

    /// Checks the TLV options of a hop-by-hop or destination options
    /// header: each must fit, and an unknown one whose two top type bits
    /// are not 00 means discard (§4.2; the ICMP those bits ask for is not
    /// sent). Pad1 is one byte, PadN and the rest are type, length, data.
    @inlinable
    static func checkOptions(_ options: UnsafeMutableRawBufferPointer) throws(WireError) {
        var index = 0
        while index < options.count {
            let type = options.u8(at: index)
            if type == 0 {  // Pad1
                index += 1
                continue
            }
            guard index + 2 <= options.count else { throw .badExtensionHeader }
            let length = Int(options.u8(at: index + 1))
            guard index + 2 + length <= options.count else { throw .badExtensionHeader }
            // PadN (1) and router alert (5, RFC 2711) are understood; others go by their action bits.
            if type != 1 && type != 5 && type >> 6 != 0 { throw .badExtensionHeader }
            index += 2 + length
        }
    }
}
