import Packets
import Wire

extension NetStack {
    /// An ICMPv6 message (RFC 4443) or NDP message (RFC 4861): the checksum
    /// over the whole (possibly reassembled) message, then by type.
    func handleICMPv6(_ packet: PacketBuffer, _ delivery: IPv6Delivery) {
        let message: ICMPv6Message
        let repr: ICMPv6Repr
        do throws(WireError) {
            message = try ICMPv6Message(checking: packet.bytes)
            let pseudo = InternetChecksum.pseudoHeaderSum(
                source: delivery.source, destination: delivery.destination, nextHeader: .icmpv6, length: packet.packetLength)
            guard InternetChecksum.sum(packet: packet, initial: pseudo) == 0xFFFF else { throw WireError.badChecksum }
            if MLD.isMLD(message.type) {
                // Other listeners' reports need nothing from a listener (RFC 3810 §6).
                if message.type == MLD.queryType, packet.isContiguous {
                    let query = try MLD.Query.parse(UnsafeRawBufferPointer(message.bytes), source: delivery.source,
                                                    hopLimit: delivery.hopLimit)
                    handleMLDQuery(query, on: delivery.interface)
                }
                packet.free()
                return
            }
            repr = try ICMPv6Repr.parse(message, source: delivery.source, destination: delivery.destination,
                                        hopLimit: delivery.hopLimit, verifyChecksum: false)
        } catch {
            tally.countMalformed(.icmpv6, error)
            packet.free()
            return
        }
        guard let state = delivery.interface.ipv6 else { packet.free(); return }
        if case .ndp(let ndp) = repr {
            handleNDP(ndp, message: message, delivery, state)
            packet.free()
            return
        }
        // Only NDP reaches a tentative address.
        guard delivery.destination.isMulticast || state.owns(delivery.destination) else {
            tally[.ipv6NotForUs] += 1
            packet.free()
            return
        }
        switch repr {
        case .echoRequest:
            tally[.icmpv6EchoRequests] += 1
            answerEcho(packet, message: message, delivery, state)
        case .packetTooBig(let mtu, _):
            tally[.icmpv6ErrorsReceived] += 1
            if let quote = try? ICMPv6Quote.parse(message.body), state.notePacketTooBig(quote.header.destination, mtu: mtu) {
                tally[.ipv6PathMTUUpdates] += 1
                // TCP toward it sends smaller segments from now on (RFC 8201 §4).
                let destination = quote.header.destination
                tcpTable?.pathMTUDecreased(toward: destination, mtu: state.mtu(toward: destination), now: tcpNow)
            }
            packet.free()
        case .destinationUnreachable(let code, _):
            tally[.icmpv6ErrorsReceived] += 1
            if let quote = try? ICMPv6Quote.parse(message.body) { deliverUnreachableIPv6(code: code, original: quote) }
            packet.free()
        case .timeExceeded, .parameterProblem:
            tally[.icmpv6ErrorsReceived] += 1
            packet.free()
        default:  // echo reply
            packet.free()
        }
    }

    /// Gives an ICMPv6 destination unreachable to the UDP endpoint whose
    /// datagram it quotes (RFC 4443 §3.1; the socket layer turns port
    /// unreachable into ECONNREFUSED, as for IPv4).
    func deliverUnreachableIPv6(code: UInt8, original: ICMPv6Quote) {
        guard original.upperLayer == .udp, let ports = original.ports,
              let i = udp.find(destination: original.header.source, destinationPort: ports.source,
                               source: original.header.destination, sourcePort: ports.destination)
        else {
            tally[.icmpErrorUnmatched] += 1
            return
        }
        // Codes: 0 no route, 1 prohibited, 3 address unreachable, 4 port unreachable.
        udp.setError(i, code == ICMPv6Repr.portUnreachableCode ? .connectionRefused : code == 0 ? .networkUnreachable : .hostUnreachable)
    }

    /// A path MTU below the link's toward `destination` (IPv6 only: IPv4
    /// does no path MTU discovery here), for new TCP connections.
    func knownPathMTU(toward destination: IPv6Address) -> Int? {
        guard !destination.isIPv4Mapped else { return nil }
        for interface in interfaces {
            guard let state = interface.ipv6, state.hasPathMTUs else { continue }
            let mtu = state.mtu(toward: destination)
            if mtu < state.linkMTU { return mtu }
        }
        return nil
    }

    /// Answers an echo request in its own buffer (chain). To a unicast
    /// address the pseudo-header sum stays (the addresses swap), so only the
    /// type word changes the checksum (RFC 1624); to multicast the source
    /// is ours and the checksum is computed again.
    func answerEcho(_ packet: PacketBuffer, message: ICMPv6Message, _ delivery: IPv6Delivery, _ state: IPv6InterfaceState) {
        let source = delivery.destination.isMulticast ? state.sourceAddress(for: delivery.source) : delivery.destination
        guard let source else {
            tally[.ipv6NoRoute] += 1
            packet.free()
            return
        }
        let oldWord = UInt16(message.type.rawValue) << 8 | UInt16(message.code)
        message.type = .echoReply
        if delivery.destination.isMulticast {
            message.checksum = 0
            let pseudo = InternetChecksum.pseudoHeaderSum(
                source: source, destination: delivery.source, nextHeader: .icmpv6, length: packet.packetLength)
            message.checksum = InternetChecksum.finish(InternetChecksum.sum(packet: packet, initial: pseudo))
        } else {
            message.checksum = InternetChecksum.update(
                message.checksum, replacing: oldWord, with: UInt16(ICMPv6Type.echoReply.rawValue) << 8 | UInt16(message.code))
        }
        let onLink = state.isOnLink(delivery.source)
        guard let nextHop = onLink ? delivery.source : state.defaultRouter else {
            tally[.ipv6NoRoute] += 1
            packet.free()
            return
        }
        tally[.icmpv6EchoReplies] += 1
        sendIPv6(packet, nextHeader: .icmpv6, to: delivery.source,
                 route: IPv6Route(interface: delivery.interface, nextHop: nextHop, source: source))
    }

    // MARK: NDP (RFC 4861)

    func handleNDP(_ ndp: NDPRepr, message: ICMPv6Message, _ delivery: IPv6Delivery, _ state: IPv6InterfaceState) {
        let interface = delivery.interface
        switch ndp {
        case .neighborSolicitation(let target, let options):
            tally[.ndpSolicitationsReceived] += 1
            guard let index = state.index(of: target) else {
                tally[.ipv6NotForUs] += 1
                return
            }
            if delivery.source.isUnspecified {
                // Another node's DAD for an address we hold (RFC 4862 §5.4.3).
                if state.state(index) == .tentative {
                    state.markDuplicated(index)
                    tally[.ipv6DuplicateAddress] += 1
                } else if state.state(index) == .preferred {
                    sendNDP(.neighborAdvertisement(router: false, solicited: false, override: true, target: target,
                                                   options: NDPOptions(targetLinkAddress: interface.macAddress)),
                            from: target, to: .allNodes, on: interface)
                }
                return
            }
            if let mac = options.sourceLinkAddress, mac.isValidUnicast { learnNeighbor(delivery.source, at: mac, on: interface, create: true) }
            guard state.state(index) == .preferred else { return }
            sendNDP(.neighborAdvertisement(router: false, solicited: true, override: true, target: target,
                                           options: NDPOptions(targetLinkAddress: interface.macAddress)),
                    from: target, to: delivery.source, on: interface)
        case .neighborAdvertisement(_, _, _, let target, let options):
            tally[.ndpAdvertisementsReceived] += 1
            if let index = state.index(of: target) {
                // Someone else answers for one of our addresses.
                if state.state(index) == .tentative { state.markDuplicated(index) }
                tally[.ipv6DuplicateAddress] += 1
                return
            }
            guard let mac = options.targetLinkAddress, mac.isValidUnicast,
                  learnNeighbor(target, at: mac, on: interface, create: false) else {
                tally[.ndpUnsolicitedAdvertisement] += 1
                return
            }
        case .routerAdvertisement(_, _, _, let lifetime, _, _, let options):
            tally[.ndpRouterAdvertisementsReceived] += 1
            guard state.configuration.acceptRouterAdvertisements else { return }
            handleRouterAdvertisement(source: delivery.source, lifetime: lifetime, options: options,
                                      message: message, interface: interface, state)
        case .routerSolicitation, .redirect:
            break  // a host ignores solicitations; redirects are not followed
        }
    }

    /// RFC 4861 §6.3.4: the default router with its lifetime, the MTU
    /// (within 1280 and the device's), on-link prefixes, SLAAC if enabled.
    func handleRouterAdvertisement(source: IPv6Address, lifetime: UInt16, options: NDPOptions, message: ICMPv6Message,
                                   interface: NetInterface, _ state: IPv6InterfaceState) {
        if lifetime > 0 {
            state.defaultRouter = source
            state.defaultRouterUntil = now + UInt64(lifetime) * clock.cyclesPerSecond
        } else if state.defaultRouter == source {
            state.defaultRouter = nil
        }
        if let mtu = options.mtu, mtu >= UInt32(IPv6Packet.minimumMTU), mtu <= UInt32(state.deviceMTU) {
            state.linkMTU = Int(mtu)
        }
        if let mac = options.sourceLinkAddress, mac.isValidUnicast { learnNeighbor(source, at: mac, on: interface, create: true) }
        NDPOptions.forEachPrefix(UnsafeMutableRawBufferPointer(rebasing: message.bytes[16...])) { prefix in
            guard !prefix.prefix.isLinkLocal, prefix.validLifetime > 0,
                  let network = IPv6Network(address: prefix.prefix, prefixLength: Int(prefix.prefixLength)) else { return }
            if prefix.onLink { state.addOnLinkPrefix(network) }
            if prefix.autonomous { _ = state.addAutoconfigured(network) }
        }
    }

    @discardableResult
    func learnNeighbor(_ address: IPv6Address, at mac: MACAddress, on interface: NetInterface, create: Bool) -> Bool {
        ndp.confirm(address, at: mac, interface: interface.index, create: create, now: now) { waiting, mac, index in
            sendFrame(waiting, to: mac, etherType: .ipv6, on: interfaces[index])
        }
    }

    /// A fresh buffer holding `length` bytes to write a message into (nil,
    /// counted as no buffers, when the pool is empty).
    func allocateMessage(_ length: Int) -> (packet: PacketBuffer, bytes: UnsafeMutableRawBufferPointer)? {
        guard let packet = pool.allocate() else {
            tally[.noBuffers] += 1
            return nil
        }
        guard let start = packet.append(length) else {
            tally[.noBuffers] += 1
            packet.free()
            return nil
        }
        return (packet, UnsafeMutableRawBufferPointer(start: start, count: length))
    }

    /// Builds an NDP message in a fresh buffer and sends it with hop limit 255.
    func sendNDP(_ ndp: NDPRepr, from source: IPv6Address, to destination: IPv6Address, on interface: NetInterface) {
        let repr = ICMPv6Repr.ndp(ndp)
        guard let message = allocateMessage(repr.bufferLength) else { return }
        let (packet, bytes) = message
        repr.emit(into: ICMPv6Message(unchecked: bytes), source: source, destination: destination)
        switch ndp {
        case .neighborSolicitation: tally[.ndpSolicitationsSent] += 1
        case .neighborAdvertisement: tally[.ndpAdvertisementsSent] += 1
        case .routerSolicitation: tally[.ndpRouterSolicitationsSent] += 1
        default: break
        }
        sendIPv6(packet, nextHeader: .icmpv6, to: destination,
                 route: IPv6Route(interface: interface, nextHop: destination, source: source), hopLimit: 255)
    }

    /// A multicast solicitation for `target` (RFC 4861 §7.2.2) from an
    /// address of ours, with our link address.
    func sendNeighborSolicitation(for target: IPv6Address, on interface: NetInterface) {
        guard let state = interface.ipv6, let source = state.sourceAddress(for: target) ?? state.sourceAddress(for: state.linkLocal)
        else { return }
        sendNDP(.neighborSolicitation(target: target, options: NDPOptions(sourceLinkAddress: interface.macAddress)),
                from: source, to: target.solicitedNodeMulticast, on: interface)
    }

    // MARK: Address configuration (RFC 4862)

    /// Duplicate address detection of every address (from ::, no link
    /// address option, to the solicited-node group), then a router
    /// solicitation once the addresses are in use.
    func startIPv6(_ interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        let transmits = state.configuration.duplicateAddressDetectionTransmits
        guard transmits > 0 else {
            dadCompleted(interface)
            return
        }
        for (index, network) in state.addresses.enumerated() where state.state(index) == .tentative {
            let target = network.address
            sendNDP(.neighborSolicitation(target: target, options: NDPOptions()), from: .unspecified,
                    to: target.solicitedNodeMulticast, on: interface)
        }
        if !schedule(after: ndpRetryCycles(interface) * UInt64(transmits), .dadComplete(interface: Int32(interface.index))) {
            dadCompleted(interface)
        }
    }

    func dadCompleted(_ interface: NetInterface) {
        guard let state = interface.ipv6 else { return }
        state.markPreferred()
        announceMulticastListening(interface)
        flush()
        guard state.configuration.acceptRouterAdvertisements, state.state(0) == .preferred else { return }
        sendNDP(.routerSolicitation(options: NDPOptions(sourceLinkAddress: interface.macAddress)),
                from: state.linkLocal, to: .allRouters, on: interface)
    }
}
