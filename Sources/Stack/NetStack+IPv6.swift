import Packets
import Wire

/// What the upper layers need to know about a received IPv6 packet.
struct IPv6Delivery {
    var source: IPv6Address
    var destination: IPv6Address
    var hopLimit: UInt8
    var upperLayer: IPProtocol
    unowned(unsafe) var interface: NetInterface
}

extension NetStack {
    // MARK: Receive

    /// An IPv6 packet (Ethernet header removed): checks, the extension
    /// header chain, reassembly, then the upper layer. Every drop is
    /// counted (Wire's reasons under the ipv6 layer).
    func handleIPv6(_ packet: PacketBuffer, on interface: NetInterface) {
        guard let state = interface.ipv6 else {
            tally[.ipv6Disabled] += 1
            packet.free()
            return
        }
        tally[.ipv6Received] += 1
        let repr: IPv6Repr
        let chain: IPv6HeaderChain
        do throws(WireError) {
            // A device's coalesced frame (GUEST_TSO6) spans buffers: its
            // headers are in the first one.
            let view = packet.isContiguous ? try IPv6Packet(checking: packet.bytes)
                : try IPv6Packet(checking: packet.bytes, packetLength: packet.packetLength)
            repr = try IPv6Repr.parse(view)
            chain = try IPv6HeaderChain.parse(view.firstPayload, first: repr.nextHeader)
        } catch {
            tally.countMalformed(.ipv6, error)
            packet.free()
            return
        }
        let destination = repr.destination
        let forUs = destination.isMulticast ? state.listens(to: destination) : state.owns(destination)
        // NDP's own messages reach tentative addresses (DAD, RFC 4862 §5.4.3).
        guard forUs || (chain.upperLayer == .icmpv6 && state.index(of: destination) != nil) else {
            tally[.ipv6NotForUs] += 1
            packet.free()
            return
        }
        let excess = packet.packetLength - repr.totalLength
        if excess > 0 { packet.removeLast(excess) }
        let delivery = IPv6Delivery(source: repr.source, destination: destination, hopLimit: repr.hopLimit,
                                    upperLayer: chain.upperLayer, interface: interface)
        guard let fragment = chain.fragment else {
            packet.removeFirst(IPv6Packet.headerLength + chain.upperLayerOffset)
            deliverIPv6(packet, delivery)
            return
        }
        tally[.ipv6FragmentsReceived] += 1
        // Every fragment but the last carries a multiple of 8 bytes (RFC 8200 §4.5).
        let dataLength = repr.payloadLength - chain.upperLayerOffset
        guard (fragment.moreFragments ? dataLength > 0 && dataLength % 8 == 0 : true),
              fragment.fragmentOffset + dataLength <= 65_535 else {
            tally[.reassemblyBadFragment] += 1
            packet.free()
            return
        }
        packet.removeFirst(IPv6Packet.headerLength + chain.upperLayerOffset)
        let key = ReassemblyKey(source: repr.source, destination: destination, identification: fragment.identification)
        // Overlaps drop the whole datagram (RFC 5722): the reassembler does.
        switch reassembler.add(packet, key: key, offset: fragment.fragmentOffset, moreFragments: fragment.moreFragments, now: now) {
        case .held:
            scheduleReassemblySweep()
        case .complete(let whole):
            tally[.ipv6Reassembled] += 1
            deliverReassembledIPv6(whole, first: fragment.nextHeader, delivery)
        case .dropped(let reason):
            tally[reason] += 1
        }
    }

    /// A reassembled datagram starts with the fragmentable part's headers
    /// (RFC 7112: all in the first fragment, so in the first segment).
    func deliverReassembledIPv6(_ packet: PacketBuffer, first: IPProtocol, _ delivery: IPv6Delivery) {
        let chain: IPv6HeaderChain
        do throws(WireError) {
            chain = try IPv6HeaderChain.parse(packet.bytes, first: first)
            // A fragment header inside a reassembled datagram is a second one.
            guard chain.fragment == nil else { throw WireError.badExtensionHeader }
        } catch {
            tally.countMalformed(.ipv6, error)
            packet.free()
            return
        }
        packet.removeFirst(chain.upperLayerOffset)
        var delivery = delivery
        delivery.upperLayer = chain.upperLayer
        deliverIPv6(packet, delivery)
    }

    func deliverIPv6(_ packet: PacketBuffer, _ delivery: IPv6Delivery) {
        tally[.ipv6Delivered] += 1
        switch delivery.upperLayer {
        case .icmpv6:
            handleICMPv6(packet, delivery)
        case .udp:
            handleUDPv6(packet, delivery)
        case .tcp:
            handleTCPv6(packet, delivery)
        default:
            tally[.ipv6UnknownProtocol] += 1
            packet.free()
        }
    }

    // MARK: Send

    struct IPv6Route {
        unowned(unsafe) var interface: NetInterface
        var nextHop: IPv6Address
        var source: IPv6Address
    }

    /// The interface, next hop and source toward `destination`: on-link
    /// destinations directly, others through the default router of the
    /// first interface that has one.
    func routeIPv6(to destination: IPv6Address) -> IPv6Route? {
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            guard let state = interface.ipv6, state.isOnLink(destination),
                  let source = state.sourceAddress(for: destination) else { continue }
            return IPv6Route(interface: interface, nextHop: destination, source: source)
        }
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            guard let state = interface.ipv6, let router = state.defaultRouter, now < state.defaultRouterUntil,
                  let source = state.sourceAddress(for: destination) else { continue }
            return IPv6Route(interface: interface, nextHop: router, source: source)
        }
        return nil
    }

    /// Sends `payload` (upper-layer header and data, possibly a chain) as
    /// IPv6: one packet when it fits the path MTU, else fragments (RFC 8200
    /// §4.5). Takes the payload in every case.
    func sendIPv6(_ payload: PacketBuffer, nextHeader: IPProtocol, to destination: IPv6Address, route: IPv6Route,
                  hopLimit: UInt8 = 64) {
        let interface = route.interface
        let length = payload.packetLength
        let mtu = interface.ipv6?.mtu(toward: destination) ?? interface.mtu
        // A TSO6 segment is cut by the device into pieces that fit the MTU.
        if IPv6Packet.headerLength + length <= mtu || payload.offloadFlags.contains(.txTCPSegmentation) {
            guard let start = payload.prepend(IPv6Packet.headerLength) else {
                tally[.noBuffers] += 1
                payload.free()
                return
            }
            IPv6Repr(source: route.source, destination: destination, nextHeader: nextHeader, payloadLength: length, hopLimit: hopLimit)
                .emit(into: IPv6Packet(unchecked: UnsafeMutableRawBufferPointer(start: start, count: IPv6Packet.headerLength)))
            tally[.ipv6Sent] += 1
            sendIPv6Frame(payload, nextHop: route.nextHop, on: interface)
            return
        }
        let identification = UInt32(truncatingIfNeeded: nextIdentification) << 16 | UInt32(truncatingIfNeeded: now & 0xFFFF)
        nextIdentification &+= 1
        let perFragment = (mtu - IPv6Packet.headerLength - IPv6FragmentHeader.length) & ~7
        let headers = IPv6Packet.headerLength + IPv6FragmentHeader.length
        var offset = 0
        while offset < length {
            let size = min(perFragment, length - offset)
            guard let fragment = pool.allocate() else {
                tally[.noBuffers] += 1
                break
            }
            guard fragment.headroom >= EthernetFrame.headerLength + headers, let data = fragment.append(size) else {
                tally[.noBuffers] += 1
                fragment.free()
                break
            }
            _ = payload.copyBytes(from: offset, count: size, to: data)
            let start = fragment.prepend(headers)!
            let bytes = UnsafeMutableRawBufferPointer(start: start, count: headers)
            IPv6Repr(source: route.source, destination: destination, nextHeader: .ipv6Fragment,
                     payloadLength: IPv6FragmentHeader.length + size, hopLimit: hopLimit)
                .emit(into: IPv6Packet(unchecked: bytes))
            IPv6FragmentHeader(nextHeader: nextHeader, fragmentOffset: offset, moreFragments: offset + size < length,
                               identification: identification)
                .emit(into: UnsafeMutableRawBufferPointer(rebasing: bytes[IPv6Packet.headerLength...]))
            tally[.ipv6FragmentsSent] += 1
            sendIPv6Frame(fragment, nextHop: route.nextHop, on: interface)
            offset += size
        }
        tally[.ipv6Sent] += 1
        payload.free()
    }

    /// Sends a finished IPv6 packet to `nextHop`: multicast to its group
    /// MAC (RFC 2464 §7), unicast once NDP has resolved it.
    func sendIPv6Frame(_ packet: PacketBuffer, nextHop: IPv6Address, on interface: NetInterface) {
        if nextHop.isMulticast {
            sendFrame(packet, to: nextHop.multicastMAC, etherType: .ipv6, on: interface)
            return
        }
        switch ndp.lookup(nextHop, interface: interface.index, packet: packet, now: now) {
        case .resolved(let mac):
            sendFrame(packet, to: mac, etherType: .ipv6, on: interface)
        case .resolvedRefresh(let mac):
            sendFrame(packet, to: mac, etherType: .ipv6, on: interface)
            sendNeighborSolicitation(for: nextHop, on: interface)
        case .queued(let entry, let generation, let firstRequest):
            if firstRequest {
                sendNeighborSolicitation(for: nextHop, on: interface)
                if !schedule(after: ndpRetryCycles(interface), .ndpRetry(entry: Int32(entry), generation: generation)) {
                    tally[.ndpUnresolved] += UInt64(ndp.abandon(entry: entry, generation: generation, failed: { $0.free() }))
                }
            }
        case .dropped(let reason):
            tally[reason] += 1
        }
    }

    func ndpRetryCycles(_ interface: NetInterface) -> UInt64 {
        let milliseconds = interface.ipv6?.configuration.retransmitMilliseconds ?? 1000
        return max(milliseconds * clock.cyclesPerSecond / 1000, 1)
    }

    func ndpRetryFired(entry: Int, generation: UInt32) {
        switch ndp.retry(entry: entry, generation: generation, failed: { $0.free() }) {
        case .request(let address, let index, let after):
            sendNeighborSolicitation(for: address, on: interfaces[index])
            if !schedule(after: after, .ndpRetry(entry: Int32(entry), generation: generation)) {
                tally[.ndpUnresolved] += UInt64(ndp.abandon(entry: entry, generation: generation, failed: { $0.free() }))
            }
        case .gaveUp(let dropped):
            tally[.ndpUnresolved] += UInt64(dropped)
        case .none:
            break
        }
    }

    /// The IPv6 addresses of interface `index` that are in use (not
    /// tentative or duplicated), link-local first; empty when IPv6 is off.
    public func ipv6Addresses(interface index: Int) -> [IPv6Network] {
        guard index < interfaces.count, let state = interfaces[index].ipv6 else { return [] }
        return state.addresses.indices.filter { state.state($0) == .preferred }.map { state.addresses[$0] }
    }

    /// What the NDP neighbour cache holds for `address` (as `neighbour(_:)` for IPv4).
    public func neighbour(_ address: IPv6Address) -> (macAddress: MACAddress, reachable: Bool)? {
        guard let entry = ndp.entry(for: address) else { return nil }
        switch entry.state {
        case .reachable: return (entry.macAddress, now < entry.reachableUntil)
        case .stale: return (entry.macAddress, false)
        case .permanent: return (entry.macAddress, true)
        case .incomplete, .free: return nil
        }
    }
}
