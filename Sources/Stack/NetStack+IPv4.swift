import Packets
import Wire

/// What the transport layers need to know about a received IPv4 datagram.
struct IPv4Delivery {
    var source: IPv4Address
    var destination: IPv4Address
    var `protocol`: IPProtocol
    /// The original header sits just before the payload in the first
    /// segment's buffer (for quoting in ICMP errors); this is its length.
    var headerLength: Int
    var isBroadcast: Bool
    /// Unowned: the stack keeps its interfaces alive, and a retain per
    /// packet is ARC traffic the fast path does not want.
    unowned(unsafe) var interface: NetInterface
}

extension NetStack {
    // MARK: Receive

    func handleIPv4(_ packet: PacketBuffer, on interface: NetInterface) {
        tally[.ipv4Received] += 1
        let view: IPv4Packet
        let repr: IPv4Repr
        do {
            // A frame in several buffers (a device's coalesced frame) has its
            // header in the first. The device's checked header checksum is
            // trusted (a bad one is checked again, and counted, here).
            view = packet.isContiguous ? try IPv4Packet(checking: packet.bytes)
                : try IPv4Packet(checking: packet.bytes, packetLength: packet.packetLength)
            repr = try IPv4Repr.parse(view, verifyChecksum: !packet.offloadFlags.contains(.rxIPChecksumGood))
        } catch {
            tally.countMalformed(.ipv4, error)
            packet.free()
            return
        }
        // A host must not send TTL 0 (RFC 1122 3.2.1.7); lower TTLs are fine
        // for local delivery.
        guard repr.timeToLive > 0 else {
            tally[.ipv4TTLExpired] += 1
            packet.free()
            return
        }
        guard !repr.source.isBroadcast, !repr.source.isMulticast, repr.source != interface.directedBroadcast else {
            tally[.ipv4SourceInvalid] += 1
            packet.free()
            return
        }
        let destination = repr.destination
        var isBroadcast = false
        if !isLocal(destination) {
            guard interface.accepts(destination) else {
                tally[.ipv4NotForUs] += 1
                packet.free()
                return
            }
            isBroadcast = true
        }
        // Ethernet pads short frames: keep exactly the datagram.
        let excess = packet.packetLength - repr.totalLength
        if excess > 0 { packet.removeLast(excess) }
        packet.removeFirst(repr.headerLength)
        let delivery = IPv4Delivery(source: repr.source, destination: destination, protocol: repr.protocol,
                                    headerLength: repr.headerLength, isBroadcast: isBroadcast, interface: interface)
        guard repr.isFragment else {
            deliver(packet, delivery)
            return
        }
        tally[.ipv4FragmentsReceived] += 1
        let key = ReassemblyKey(source: repr.source, destination: destination, identification: repr.identification,
                                protocolNumber: repr.protocol.rawValue)
        switch reassembler.add(packet, key: key, offset: repr.fragmentOffset, moreFragments: repr.moreFragments, now: now) {
        case .held:
            scheduleReassemblySweep()
        case .complete(let whole):
            tally[.ipv4Reassembled] += 1
            // The first fragment's header is still in front of the chain.
            deliver(whole, delivery)
        case .dropped(let reason):
            tally[reason] += 1
        }
    }

    /// True for one of this stack's own addresses.
    @inline(__always)
    func isLocal(_ address: IPv4Address) -> Bool {
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            if interface.address == address { return true }
        }
        return false
    }

    @inline(__always)
    func deliver(_ packet: PacketBuffer, _ delivery: IPv4Delivery) {
        tally[.ipv4Delivered] += 1
        switch delivery.protocol {
        case .udp:
            handleUDP(packet, delivery)
        case .icmp:
            handleICMP(packet, delivery)
        case .tcp:
            deliverTCP(packet, delivery)
        default:
            tally[.ipv4UnknownProtocol] += 1
            packet.free()
        }
    }


    // MARK: Send

    /// The source address a packet to `destination` would carry (nil: no
    /// route). For the socket layer's connect and getsockname.
    public func sourceAddress(toward destination: IPv4Address, from source: IPv4Address = .any) -> IPv4Address? {
        route(to: destination, from: source)?.source
    }

    /// True for 255.255.255.255 and the directed broadcast of an interface's subnet.
    public func isBroadcast(_ address: IPv4Address) -> Bool {
        address.isBroadcast || interfaces.contains { $0.network.prefixLength < 31 && address == $0.network.broadcastAddress }
    }

    /// True when `address` is one of the interfaces' addresses.
    public func isLocalAddress(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.address == address }
    }

    struct Route {
        var interface: NetInterface
        var nextHop: IPv4Address
        var source: IPv4Address
    }

    /// Picks the interface and next hop for `destination` by longest prefix
    /// match in the route table (NetStack+Routes.swift). A bound `source`
    /// keeps the lookup to its own interface.
    func route(to destination: IPv4Address, from source: IPv4Address = .any) -> Route? {
        var chosen: Int?
        if !source.isUnspecified {
            for index in 0..<interfaces.count where interfaces[index].address == source { chosen = index }
            guard chosen != nil else { return nil }
        }
        if destination.isBroadcast {
            guard let interface = chosen.map({ interfaces[$0] }) ?? interfaces.first else { return nil }
            return Route(interface: interface, nextHop: destination, source: interface.address)
        }
        guard let entry = routeTable.lookup(destination, interface: chosen) else { return nil }
        let interface = interfaces[entry.interface]
        return Route(interface: interface, nextHop: entry.gateway ?? destination, source: interface.address)
    }

    /// Sends `payload` (the transport header and data, possibly a chain)
    /// as IPv4 from `route`: one packet when it fits the MTU, else
    /// fragments. Takes the payload in every case.
    func sendIPv4(_ payload: PacketBuffer, protocol: IPProtocol, to destination: IPv4Address, route: Route,
                  timeToLive: UInt8 = 64, typeOfService: UInt8 = 0) {
        let identification = nextIdentification
        nextIdentification &+= 1
        let interface = route.interface
        let length = payload.packetLength
        // A TSO segment is cut to the MTU by the device (it asked for it).
        if IPv4Packet.minimumHeaderLength + length <= interface.mtu || payload.offloadFlags.contains(.txTCPSegmentation) {
            guard let start = payload.prepend(IPv4Packet.minimumHeaderLength) else {
                tally[.noBuffers] += 1
                payload.free()
                return
            }
            IPv4Repr(source: route.source, destination: destination, protocol: `protocol`, payloadLength: length,
                     timeToLive: timeToLive, identification: identification,
                     dscp: typeOfService >> 2, ecn: typeOfService & 3)
                .emit(into: IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(start: start, count: IPv4Packet.minimumHeaderLength)))
            tally[.ipv4Sent] += 1
            sendIPv4Frame(payload, nextHop: route.nextHop, on: interface)
            return
        }
        // Fragment: every fragment but the last carries a multiple of 8 bytes.
        let perFragment = (interface.mtu - IPv4Packet.minimumHeaderLength) & ~7
        var offset = 0
        while offset < length {
            let size = min(perFragment, length - offset)
            guard let fragment = pool.allocate() else {
                tally[.noBuffers] += 1
                break
            }
            guard fragment.headroom >= EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength,
                  let data = fragment.append(size) else {
                tally[.noBuffers] += 1
                fragment.free()
                break
            }
            _ = payload.copyBytes(from: offset, count: size, to: data)
            let start = fragment.prepend(IPv4Packet.minimumHeaderLength)!
            IPv4Repr(source: route.source, destination: destination, protocol: `protocol`, payloadLength: size,
                     timeToLive: timeToLive, identification: identification,
                     moreFragments: offset + size < length, fragmentOffset: offset,
                     dscp: typeOfService >> 2, ecn: typeOfService & 3)
                .emit(into: IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(start: start, count: IPv4Packet.minimumHeaderLength)))
            tally[.ipv4FragmentsSent] += 1
            sendIPv4Frame(fragment, nextHop: route.nextHop, on: interface)
            offset += size
        }
        tally[.ipv4Sent] += 1
        payload.free()
    }
}
