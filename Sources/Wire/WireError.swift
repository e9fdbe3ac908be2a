/// Why a header was rejected. The stack counts drops by these reasons, so
/// every case has a stable `name` for counters and logs (never rename one).
public enum WireError: Error, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the header needs, or than a length field claims.
    case truncated
    /// A length field contradicts itself (IPv4 total length below the header
    /// length, UDP length below 8).
    case badLength
    /// IPv4 version field is not 4.
    case badVersion
    /// IPv4 IHL below 5, or TCP data offset below 5.
    case badHeaderLength
    /// The header (IPv4) or header + payload (ICMP, UDP, TCP) checksum is wrong.
    case badChecksum
    /// A TCP option whose length byte is below 2, runs past the header, or
    /// does not fit its kind (e.g. MSS not 4 bytes).
    case badOptionLength
    /// An IPv4 fragment whose offset plus payload ends beyond 65,535 bytes.
    case badFragmentOffset
    /// Well formed, but not something this code handles: ARP for other than
    /// Ethernet/IPv4, ARP operations other than request/reply, ICMP types
    /// other than echo, destination unreachable and time exceeded.
    case unsupported
    /// An address not allowed where it is: an IPv6 multicast source, an
    /// NDP target that is multicast.
    case badAddress
    /// More IPv6 extension headers than `IPv6HeaderChain.maximumHeaders`.
    case extensionChainTooLong
    /// A malformed IPv6 extension header: hop-by-hop not first, an option
    /// running past its header, an unknown option whose type says discard,
    /// a routing header with segments left (this host is no router), two
    /// fragment headers.
    case badExtensionHeader
    /// A type 0 routing header with segments left (RFC 5095 deprecates it).
    case deprecatedRoutingHeader
    /// An NDP message whose hop limit is not 255: it came from off the link
    /// (RFC 4861 §6.1, §7.1), or a code other than 0.
    case badHopLimit

    /// Stable counter name, e.g. "bad_checksum".
    public var name: String {
        switch self {
        case .truncated: "truncated"
        case .badLength: "bad_length"
        case .badVersion: "bad_version"
        case .badHeaderLength: "bad_header_length"
        case .badChecksum: "bad_checksum"
        case .badOptionLength: "bad_option_length"
        case .badFragmentOffset: "bad_fragment_offset"
        case .unsupported: "unsupported"
        case .badAddress: "bad_address"
        case .extensionChainTooLong: "extension_chain_too_long"
        case .badExtensionHeader: "bad_extension_header"
        case .deprecatedRoutingHeader: "deprecated_routing_header"
        case .badHopLimit: "bad_hop_limit"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "truncated: the buffer ends before the header or its declared length does"
        case .badLength: "bad length: a length field is smaller than the header it belongs to"
        case .badVersion: "bad version: the IP version field is not 4"
        case .badHeaderLength: "bad header length: IPv4 IHL or TCP data offset is below 5 words"
        case .badChecksum: "bad checksum: the sender or the path corrupted the packet"
        case .badOptionLength: "bad option length: a TCP option's length byte is malformed for its kind"
        case .badFragmentOffset: "bad fragment offset: fragment would end past 65,535 bytes"
        case .unsupported: "unsupported: a well-formed header of a kind this stack does not handle"
        case .badAddress: "bad address: a multicast source, or a multicast NDP target"
        case .extensionChainTooLong: "extension chain too long: more IPv6 extension headers than the limit"
        case .badExtensionHeader: "bad extension header: a malformed IPv6 extension header or an option that demands discard"
        case .deprecatedRoutingHeader: "deprecated routing header: routing header type 0 with segments left (RFC 5095)"
        case .badHopLimit: "bad hop limit: an NDP message with hop limit below 255 or a non-zero code (off-link)"
        }
    }
}
