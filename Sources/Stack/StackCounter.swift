/// Everything a stack counts. Drops are counted by reason so that a test
/// (or an operator) can tell a bad checksum from a full queue; header
/// errors found by Wire are counted separately, by layer and Wire's reason
/// (see `StackCounters.malformed`).
public enum StackCounter: Int, CaseIterable, Sendable {
    // Traffic
    case framesReceived
    case framesTransmitted
    /// Frames a full device ring refused and the stack kept for the next
    /// burst (the transmit backlog): delayed, not lost.
    case transmitDeferred
    case ipv4Received
    case ipv4Delivered
    case ipv4Sent
    case ipv4FragmentsReceived
    case ipv4FragmentsSent
    case ipv4Reassembled
    case icmpEchoRequests
    case icmpEchoReplies
    case icmpEchoRepliesReceived
    case icmpErrorsSent
    case icmpErrorsReceived
    case udpReceived
    case udpDelivered
    case udpSent
    case tcpReceived
    case tcpSent
    /// TCP segments coalesced into an earlier one of their flow (GRO).
    case tcpCoalesced
    /// TCP/UDP packets whose RSS hash names another core's queue (software
    /// or device steering put them here): 0 when flows stay on their core.
    case flowOnWrongCore
    case arpRequestsReceived
    case arpRepliesReceived
    case arpRequestsSent
    case arpRepliesSent
    case arpGratuitousSent
    case ipv6Received
    case ipv6Delivered
    case ipv6Sent
    case ipv6FragmentsReceived
    case ipv6FragmentsSent
    case ipv6Reassembled
    case icmpv6EchoRequests
    case icmpv6EchoReplies
    case icmpv6ErrorsReceived
    /// MLD queries taken and reports sent (RFC 3810; NetStack+MLD).
    case mldQueries
    case mldReportsSent
    case ndpSolicitationsReceived
    case ndpSolicitationsSent
    case ndpAdvertisementsReceived
    case ndpAdvertisementsSent
    case ndpRouterAdvertisementsReceived
    case ndpRouterSolicitationsSent
    case ipv6PathMTUUpdates

    // Drops, by reason
    case ethernetNotForUs
    case ethernetUnknownType
    case ethernetVLANUnsupported
    case arpNotForUs
    case arpUnsupportedHardware
    case arpQueueFull
    case arpUnresolved
    case arpCacheFull
    case ipv4NotForUs
    case ipv4TTLExpired
    case ipv4SourceInvalid
    case ipv4UnknownProtocol
    case tcpToBroadcast
    case tcpNoRoute
    case ipv4NoRoute
    case ipv4FragmentationNeededDF
    case reassemblyOverlap
    case reassemblyDuplicate
    case reassemblyTooManyFragments
    case reassemblyTooManyDatagrams
    case reassemblyMemoryLimit
    case reassemblyTimeout
    case reassemblyTooLong
    case reassemblyBadFragment
    case icmpUnsupportedType
    case icmpRateLimited
    case icmpErrorUnmatched
    case udpClosedPort
    case udpReceiveQueueFull
    case udpBroadcastUnmatched
    case transmitQueueFull
    case noBuffers
    case timersExhausted
    case ipv6Disabled
    case ipv6NotForUs
    case ipv6UnknownProtocol
    case ipv6NoRoute
    case ipv6DuplicateAddress
    case ndpUnresolved
    case ndpUnsolicitedAdvertisement

    /// The name used in statistics JSON: "reassembly.overlap".
    public var name: String {
        switch self {
        case .framesReceived: "frames.received"
        case .framesTransmitted: "frames.transmitted"
        case .transmitDeferred: "frames.transmitDeferred"
        case .ipv4Received: "ipv4.received"
        case .ipv4Delivered: "ipv4.delivered"
        case .ipv4Sent: "ipv4.sent"
        case .ipv4FragmentsReceived: "ipv4.fragmentsReceived"
        case .ipv4FragmentsSent: "ipv4.fragmentsSent"
        case .ipv4Reassembled: "ipv4.reassembled"
        case .icmpEchoRequests: "icmp.echoRequests"
        case .icmpEchoReplies: "icmp.echoReplies"
        case .icmpEchoRepliesReceived: "icmp.echoRepliesReceived"
        case .icmpErrorsSent: "icmp.errorsSent"
        case .icmpErrorsReceived: "icmp.errorsReceived"
        case .udpReceived: "udp.received"
        case .udpDelivered: "udp.delivered"
        case .udpSent: "udp.sent"
        case .tcpReceived: "tcp.received"
        case .tcpSent: "tcp.sent"
        case .tcpCoalesced: "tcp.coalesced"
        case .flowOnWrongCore: "steering.wrongCore"
        case .arpRequestsReceived: "arp.requestsReceived"
        case .arpRepliesReceived: "arp.repliesReceived"
        case .arpRequestsSent: "arp.requestsSent"
        case .arpRepliesSent: "arp.repliesSent"
        case .arpGratuitousSent: "arp.gratuitousSent"
        case .ipv6Received: "ipv6.received"
        case .ipv6Delivered: "ipv6.delivered"
        case .ipv6Sent: "ipv6.sent"
        case .ipv6FragmentsReceived: "ipv6.fragmentsReceived"
        case .ipv6FragmentsSent: "ipv6.fragmentsSent"
        case .ipv6Reassembled: "ipv6.reassembled"
        case .icmpv6EchoRequests: "icmpv6.echoRequests"
        case .icmpv6EchoReplies: "icmpv6.echoReplies"
        case .icmpv6ErrorsReceived: "icmpv6.errorsReceived"
        case .mldQueries: "mld.queries"
        case .mldReportsSent: "mld.reportsSent"
        case .ndpSolicitationsReceived: "ndp.solicitationsReceived"
        case .ndpSolicitationsSent: "ndp.solicitationsSent"
        case .ndpAdvertisementsReceived: "ndp.advertisementsReceived"
        case .ndpAdvertisementsSent: "ndp.advertisementsSent"
        case .ndpRouterAdvertisementsReceived: "ndp.routerAdvertisementsReceived"
        case .ndpRouterSolicitationsSent: "ndp.routerSolicitationsSent"
        case .ipv6PathMTUUpdates: "ipv6.pathMTUUpdates"
        case .ethernetNotForUs: "drop.ethernet.notForUs"
        case .ethernetUnknownType: "drop.ethernet.unknownType"
        case .ethernetVLANUnsupported: "drop.ethernet.vlanUnsupported"
        case .arpNotForUs: "drop.arp.notForUs"
        case .arpUnsupportedHardware: "drop.arp.unsupportedHardware"
        case .arpQueueFull: "drop.arp.queueFull"
        case .arpUnresolved: "drop.arp.unresolved"
        case .arpCacheFull: "drop.arp.cacheFull"
        case .ipv4NotForUs: "drop.ipv4.notForUs"
        case .ipv4TTLExpired: "drop.ipv4.ttlExpired"
        case .ipv4SourceInvalid: "drop.ipv4.sourceInvalid"
        case .ipv4UnknownProtocol: "drop.ipv4.unknownProtocol"
        case .tcpToBroadcast: "drop.tcp.toBroadcast"
        case .tcpNoRoute: "drop.tcp.noRoute"
        case .ipv4NoRoute: "drop.ipv4.noRoute"
        case .ipv4FragmentationNeededDF: "drop.ipv4.fragmentationNeededDF"
        case .reassemblyOverlap: "drop.reassembly.overlap"
        case .reassemblyDuplicate: "drop.reassembly.duplicate"
        case .reassemblyTooManyFragments: "drop.reassembly.tooManyFragments"
        case .reassemblyTooManyDatagrams: "drop.reassembly.tooManyDatagrams"
        case .reassemblyMemoryLimit: "drop.reassembly.memoryLimit"
        case .reassemblyTimeout: "drop.reassembly.timeout"
        case .reassemblyTooLong: "drop.reassembly.tooLong"
        case .reassemblyBadFragment: "drop.reassembly.badFragment"
        case .icmpUnsupportedType: "drop.icmp.unsupportedType"
        case .icmpRateLimited: "drop.icmp.rateLimited"
        case .icmpErrorUnmatched: "drop.icmp.errorUnmatched"
        case .udpClosedPort: "drop.udp.closedPort"
        case .udpReceiveQueueFull: "drop.udp.receiveQueueFull"
        case .udpBroadcastUnmatched: "drop.udp.broadcastUnmatched"
        case .transmitQueueFull: "drop.transmit.queueFull"
        case .noBuffers: "drop.noBuffers"
        case .timersExhausted: "drop.timersExhausted"
        case .ipv6Disabled: "drop.ipv6.disabled"
        case .ipv6NotForUs: "drop.ipv6.notForUs"
        case .ipv6UnknownProtocol: "drop.ipv6.unknownProtocol"
        case .ipv6NoRoute: "drop.ipv6.noRoute"
        case .ipv6DuplicateAddress: "drop.ipv6.duplicateAddress"
        case .ndpUnresolved: "drop.ndp.unresolved"
        case .ndpUnsolicitedAdvertisement: "drop.ndp.unsolicitedAdvertisement"
        }
    }
}
