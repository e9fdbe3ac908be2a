/// An NDP message (RFC 4861 §4) as a plain value, options included.
public enum NDPRepr: Hashable, Sendable {
    case routerSolicitation(options: NDPOptions)
    /// `hopLimit` is the router's suggested hop limit (0: unspecified);
    /// `routerLifetime` in seconds (0: not a default router); the timers in ms.
    case routerAdvertisement(
        hopLimit: UInt8, managed: Bool, other: Bool, routerLifetime: UInt16, reachableTime: UInt32,
        retransmitTimer: UInt32, options: NDPOptions)
    case neighborSolicitation(target: IPv6Address, options: NDPOptions)
    case neighborAdvertisement(router: Bool, solicited: Bool, override: Bool, target: IPv6Address, options: NDPOptions)
    case redirect(target: IPv6Address, destination: IPv6Address, options: NDPOptions)

    /// Where the options start in each message.
    @inlinable static func optionsOffset(_ type: ICMPv6Type) -> Int? {
        switch type {
        case .routerSolicitation: 8
        case .routerAdvertisement: 16
        case .neighborSolicitation, .neighborAdvertisement: 24
        case .redirect: 40
        default: nil
        }
    }

    @inlinable public var type: ICMPv6Type {
        switch self {
        case .routerSolicitation: .routerSolicitation
        case .routerAdvertisement: .routerAdvertisement
        case .neighborSolicitation: .neighborSolicitation
        case .neighborAdvertisement: .neighborAdvertisement
        case .redirect: .redirect
        }
    }

    @inlinable public var options: NDPOptions {
        switch self {
        case .routerSolicitation(let o), .routerAdvertisement(_, _, _, _, _, _, let o),
            .neighborSolicitation(_, let o), .neighborAdvertisement(_, _, _, _, let o), .redirect(_, _, let o):
            o
        }
    }

    /// Reads an NDP message with the validity checks of RFC 4861 (§6.1.1,
    /// §6.1.2, §7.1.1, §7.1.2, §8.1): hop limit 255 and code 0 (else
    /// `.badHopLimit`: it was forwarded, so it is spoofed from off-link),
    /// the minimum length, well-formed options, no multicast target, no
    /// source link-layer option from the unspecified address, router
    /// messages from link-local sources only, no solicited flag to multicast.
    @inlinable
    static func parse(
        _ message: ICMPv6Message, source: IPv6Address, destination: IPv6Address, hopLimit: UInt8
    ) throws(WireError) -> NDPRepr {
        guard hopLimit == 255, message.code == 0 else { throw .badHopLimit }
        guard let start = optionsOffset(message.type) else { throw .unsupported }
        guard message.bytes.count >= start else { throw .truncated }
        let bytes = message.bytes
        let options = try NDPOptions.parse(bytes.slice(start..<bytes.count))
        switch message.type {
        case .routerSolicitation:
            guard !(source.isUnspecified && options.sourceLinkAddress != nil) else { throw .badAddress }
            return .routerSolicitation(options: options)
        case .routerAdvertisement:
            guard source.isLinkLocal else { throw .badAddress }
            let flags = bytes.u8(at: 5)
            return .routerAdvertisement(
                hopLimit: bytes.u8(at: 4), managed: flags & 0x80 != 0, other: flags & 0x40 != 0,
                routerLifetime: bytes.u16(at: 6), reachableTime: bytes.u32(at: 8),
                retransmitTimer: bytes.u32(at: 12), options: options)
        case .neighborSolicitation:
            let target = bytes.ipv6(at: 8)
            guard !target.isMulticast else { throw .badAddress }
            if source.isUnspecified {
                guard options.sourceLinkAddress == nil, destination == target.solicitedNodeMulticast else {
                    throw .badAddress
                }
            }
            return .neighborSolicitation(target: target, options: options)
        case .neighborAdvertisement:
            let target = bytes.ipv6(at: 8)
            let flags = bytes.u8(at: 4)
            guard !target.isMulticast, !(destination.isMulticast && flags & 0x40 != 0) else { throw .badAddress }
            return .neighborAdvertisement(
                router: flags & 0x80 != 0, solicited: flags & 0x40 != 0, override: flags & 0x20 != 0,
                target: target, options: options)
        default:  // redirect
            guard source.isLinkLocal else { throw .badAddress }
            let destinationField = bytes.ipv6(at: 24)
            guard !destinationField.isMulticast else { throw .badAddress }
            return .redirect(target: bytes.ipv6(at: 8), destination: destinationField, options: options)
        }
    }

    /// The whole message: fixed part + options.
    @inlinable public var bufferLength: Int { Self.optionsOffset(type)! + options.length }

    /// Writes everything after the checksum (type and code are the caller's).
    @inlinable
    func emitBody(into message: ICMPv6Message) {
        let bytes = message.bytes
        message.word = 0
        switch self {
        case .routerSolicitation:
            break
        case .routerAdvertisement(let hopLimit, let managed, let other, let lifetime, let reachable, let retransmit, _):
            bytes.setU8(hopLimit, at: 4)
            bytes.setU8((managed ? 0x80 : 0) | (other ? 0x40 : 0), at: 5)
            bytes.setU16(lifetime, at: 6)
            bytes.setU32(reachable, at: 8)
            bytes.setU32(retransmit, at: 12)
        case .neighborSolicitation(let target, _):
            bytes.setIPv6(target, at: 8)
        case .neighborAdvertisement(let router, let solicited, let override, let target, _):
            bytes.setU8((router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (override ? 0x20 : 0), at: 4)
            bytes.setIPv6(target, at: 8)
        case .redirect(let target, let destination, _):
            bytes.setIPv6(target, at: 8)
            bytes.setIPv6(destination, at: 24)
        }
        let start = Self.optionsOffset(type)!
        options.emit(into: bytes.slice(start..<bufferLength))
    }
}
