import Packets
import Wire

/// UDP over IPv6 (RFC 8200 §8.1: the checksum is mandatory). Endpoints
/// bound to :: take IPv6 datagrams (and IPv4 ones unless v6-only), those
/// bound to an IPv6 address or connected to an IPv6 peer only theirs; the
/// IPv6 source of a queued datagram stays in the buffer's headroom, where
/// its IPv6 header still is, and `userData` says how far back (bit 0 set:
/// IPv6; bits 1...15: the distance; port in bits 16...31; the interface
/// index + 1 in bits 32...63).
extension NetStack {
    func handleUDPv6(_ packet: PacketBuffer, _ delivery: IPv6Delivery) {
        tally[.udpReceived] += 1
        guard packet.length >= UDPDatagram.headerLength else {
            tally.countMalformed(.udp, .truncated)
            packet.free()
            return
        }
        let header = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: packet.data, count: UDPDatagram.headerLength))
        let length = header.length
        guard length >= UDPDatagram.headerLength, length <= packet.packetLength else {
            tally.countMalformed(.udp, length < UDPDatagram.headerLength ? .badLength : .truncated)
            packet.free()
            return
        }
        if length < packet.packetLength {
            guard trim(packet, to: length) else {
                tally.countMalformed(.udp, .badLength)
                packet.free()
                return
            }
        }
        // The device's word, as for IPv4 (virtio NEEDS_CSUM: a local
        // sender's frame whose checksum field holds only the partial sum).
        let trusted = !packet.offloadFlags.isDisjoint(with: [.rxL4ChecksumGood, .rxL4ChecksumNone])
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: delivery.source, destination: delivery.destination, nextHeader: .udp, length: length)
        guard trusted || (header.checksum != 0 && InternetChecksum.sum(packet: packet, initial: pseudo) == 0xFFFF) else {
            tally.countMalformed(.udp, .badChecksum)
            packet.free()
            return
        }
        let sourcePort = header.sourcePort
        if let steering = flowSteering, packet.isContiguous {
            countIfOnWrongCore(steering, packet, delivery, sourcePort: sourcePort, destinationPort: header.destinationPort)
        }
        if delivery.destination.isMulticast {
            deliverUDPv6Multicast(packet, delivery, sourcePort: sourcePort, port: header.destinationPort)
            return
        }
        guard let i = udp.find(destination: delivery.destination, destinationPort: header.destinationPort,
                               source: delivery.source, sourcePort: sourcePort) else {
            tally[.udpClosedPort] += 1
            sendPortUnreachableIPv6(about: packet, delivery)
            packet.free()
            return
        }
        // The source address must still be in this segment's headroom.
        let distance = packet.data - sourceAddressLocation(packet, delivery)
        guard distance > 0, distance < 0x8000 else {
            tally[.udpClosedPort] += 1
            packet.free()
            return
        }
        packet.removeFirst(UDPDatagram.headerLength)
        packet.userData = UInt64(delivery.interface.index + 1) << 32 | UInt64(sourcePort) << 16
            | UInt64(distance + UDPDatagram.headerLength) << 1 | 1
        guard udp.enqueue(i, packet) else {
            tally[.udpReceiveQueueFull] += 1
            packet.free()
            return
        }
        tally[.udpDelivered] += 1
    }

    /// A datagram to a group the interface joined: a copy for every
    /// endpoint bound to the port (on :: or the group), the last one taking
    /// the packet itself; no port unreachable for multicast (RFC 4443 §2.4 (e)).
    func deliverUDPv6Multicast(_ packet: PacketBuffer, _ delivery: IPv6Delivery, sourcePort: UInt16, port: UInt16) {
        var receivers = 0
        udp.forEachMulticastReceiver(group: delivery.destination, port: port, source: delivery.source, sourcePort: sourcePort) { _ in
            receivers += 1
        }
        let distance = packet.data - sourceAddressLocation(packet, delivery)
        guard receivers > 0, distance > 0, distance < 0x8000 else {
            tally[.udpClosedPort] += 1
            packet.free()
            return
        }
        packet.removeFirst(UDPDatagram.headerLength)
        let tag = UInt64(delivery.interface.index + 1) << 32 | UInt64(sourcePort) << 16
        var left = receivers
        udp.forEachMulticastReceiver(group: delivery.destination, port: port, source: delivery.source, sourcePort: sourcePort) { i in
            left -= 1
            let isLast = left == 0
            // A copy carries the source where a bare IPv6 header would (32 bytes back).
            guard let copy = isLast ? packet : copyDatagram(packet, source: delivery.source) else {
                tally[.noBuffers] += 1
                return
            }
            let back = isLast ? distance + UDPDatagram.headerLength : IPv6Packet.headerLength - 8
            copy.userData = tag | UInt64(back) << 1 | 1
            guard udp.enqueue(i, copy) else {
                tally[.udpReceiveQueueFull] += 1
                copy.free()
                return
            }
            tally[.udpDelivered] += 1
        }
        if left > 0 { packet.free() }
    }

    private func copyDatagram(_ packet: PacketBuffer, source: IPv6Address) -> PacketBuffer? {
        guard let copy = packet.copy(into: pool) else { return nil }
        guard copy.headroom >= IPv6Packet.headerLength else {
            copy.free()
            return nil
        }
        source.store(to: copy.data - (IPv6Packet.headerLength - 8))
        return copy
    }

    /// Where the received IPv6 header's source address is: searched back
    /// from the UDP header over the header chain's length (the fixed header
    /// is at most 40 + 8 × 255 × 8 bytes back, but in practice 40 + a few
    /// headers; checked against the address the delivery carries).
    func sourceAddressLocation(_ packet: PacketBuffer, _ delivery: IPv6Delivery) -> UnsafeMutableRawPointer {
        var back = IPv6Packet.headerLength
        let limit = min(packet.headroom, 1024)
        while back <= limit {
            let candidate = packet.data - back + 8
            if IPv6Address(loadingFrom: candidate) == delivery.source, (packet.data - back).load(as: UInt8.self) >> 4 == 6 {
                return candidate
            }
            back += 8
        }
        return packet.data
    }

    /// The IPv6 source of a queued datagram (nil: it came over IPv4).
    static func ipv6Source(_ packet: PacketBuffer) -> IPv6Address? {
        let tag = packet.userData
        guard tag & 1 == 1 else { return nil }
        let distance = Int(tag >> 1 & 0x7FFF)
        return IPv6Address(loadingFrom: packet.data - distance)
    }

    /// Sends `payload` from `endpoint`'s port to an IPv6 destination (the
    /// checksum by the device when the port offers it for IPv6, the datagram
    /// needs no fragments and no copy loops back). Takes the payload in every
    /// case. To a multicast group: out of `multicast.interface` (nil: the
    /// first IPv6 interface) with `multicast.hopLimit`, and with
    /// `multicast.loop` a copy to this core's own sockets of the group
    /// (IPV6_MULTICAST_*).
    public func udpSend(_ endpoint: UDPEndpoint, _ payload: PacketBuffer, to destination: (address: IPv6Address, port: UInt16),
                        hopLimit: UInt8 = 64, multicast: MulticastSendOptions = MulticastSendOptions()) throws(StackError) {
        let i: Int
        do { i = try udp.entryIndex(endpoint) } catch {
            payload.free()
            throw error
        }
        guard destination.port != 0, !destination.address.isUnspecified else {
            payload.free()
            throw StackError(.notConnected, "no IPv6 destination address and port")
        }
        guard payload.packetLength <= Self.maximumUDPPayload else {
            let length = payload.packetLength
            payload.free()
            throw StackError(.messageTooLong, "UDP payload of \(length) bytes: at most \(Self.maximumUDPPayload)")
        }
        let group = destination.address.isMulticast
        guard var route = group ? multicastRoute(to: destination.address, interface: multicast.interface) : routeIPv6(to: destination.address) else {
            payload.free()
            tally[.ipv6NoRoute] += 1
            throw StackError(.networkUnreachable, "no IPv6 route to \(destination.address): add an address on its prefix or accept a router")
        }
        let bound = udp.key(of: i).localAddress
        guard !bound.isIPv4Mapped else {
            payload.free()
            throw StackError(.networkUnreachable, "the endpoint is bound to IPv4 \(bound): it cannot reach IPv6 peer \(destination.address)")
        }
        // An endpoint bound (or connected) to one address sends from it.
        if !bound.isUnspecified && !bound.isMulticast { route.source = bound }
        guard let start = payload.prepend(UDPDatagram.headerLength) else {
            payload.free()
            throw StackError(.noBuffers, "no headroom for the UDP header: allocate payload buffers from a pool with headroom")
        }
        let length = payload.packetLength
        let header = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: start, count: UDPDatagram.headerLength))
        header.sourcePort = udp.key(of: i).localPort
        header.destinationPort = destination.port
        header.length = length
        header.checksum = 0
        let mtu = route.interface.ipv6?.mtu(toward: destination.address) ?? route.interface.mtu
        let loopsBack = group && multicast.loop
        if route.interface.transmitOffloads.isSuperset(of: [.txIPv6, .txUDPChecksum]) && IPv6Packet.headerLength + length <= mtu
            && !loopsBack {
            // The device sums the datagram (the driver seeds the field with
            // the IPv6 pseudo-header); fragments, and a datagram whose copy
            // this core's own sockets receive, are summed here.
            payload.offloadFlags = [.txIPv6, .txUDPChecksum]
            payload.setHeaderLengths(l2: EthernetFrame.headerLength, l3: IPv6Packet.headerLength, l4: UDPDatagram.headerLength)
        } else {
            let pseudo = InternetChecksum.pseudoHeaderSum(source: route.source, destination: destination.address, nextHeader: .udp, length: length)
            let checksum = InternetChecksum.finish(InternetChecksum.sum(packet: payload, initial: pseudo))
            header.checksum = checksum == 0 ? 0xFFFF : checksum
        }
        tally[.udpSent] += 1
        if loopsBack { loopMulticast(payload, to: destination.address, route: route, hopLimit: multicast.hopLimit) }
        sendIPv6(payload, nextHeader: .udp, to: destination.address, route: route, hopLimit: group ? multicast.hopLimit : hopLimit)
    }

    /// Opens an endpoint on an IPv6-wide address: :: (both families unless
    /// `v6Only`), an IPv6 address of this stack, or a v4-mapped one (IPv4
    /// only, as `udpBind(address:port:)`).
    public func udpBind(address6 address: IPv6Address, port: UInt16, v6Only: Bool = false, shared: Bool = false) throws(StackError) -> UDPEndpoint {
        if let v4 = address.ipv4Mapped {
            return try udpBind(address: v4, port: port, ipv4Only: true, shared: shared)
        }
        if !address.isUnspecified && !address.isMulticast && !isLocalIPv6Address(address) {
            throw StackError(.addressNotAvailable, "\(address) is not an IPv6 address of this stack (or still tentative): bind to one of them or ::")
        }
        return try udp.bind(address: address, port: port, v6Only: v6Only, shared: shared)
    }

    /// Restricts the endpoint to one IPv6 peer (v4-mapped: an IPv4 peer, as
    /// `udpConnect(_:to:port:)`); :: disconnects.
    public func udpConnect(_ endpoint: UDPEndpoint, to address: IPv6Address, port: UInt16) throws(StackError) {
        if let v4 = address.ipv4Mapped {
            try udpConnect(endpoint, to: v4, port: port)
            return
        }
        let i = try udp.entryIndex(endpoint)
        let bound = udp.key(of: i).localAddress
        if address.isUnspecified {
            udp.connect(i, remote: .unspecified, port: 0, local: bound)
            return
        }
        guard port != 0 else { throw StackError(.invalidConfiguration, "cannot connect to port 0") }
        guard !bound.isIPv4Mapped else {
            throw StackError(.networkUnreachable, "the endpoint is bound to IPv4 \(bound): it cannot reach IPv6 peer \(address)")
        }
        guard let source = ipv6SourceAddress(toward: address, from: bound) else {
            throw StackError(.networkUnreachable, "no IPv6 route to \(address): add an address on its prefix or accept a router")
        }
        udp.connect(i, remote: address, port: port, local: source)
    }

    /// The local and remote ends at IPv6 width (IPv4 ones v4-mapped; an
    /// AF_INET-only wildcard as ::ffff:0.0.0.0).
    public func udpAddresses6(_ endpoint: UDPEndpoint) throws(StackError)
        -> (localAddress: IPv6Address, localPort: UInt16, remoteAddress: IPv6Address, remotePort: UInt16) {
        let key = udp.key(of: try udp.entryIndex(endpoint))
        return (key.localAddress, key.localPort, key.remoteAddress, key.remotePort)
    }

    /// Sends a copy of `bytes` to an IPv6 destination (buffers from the stack's pool).
    public func udpSend(_ endpoint: UDPEndpoint, bytes: UnsafeRawBufferPointer, to destination: (address: IPv6Address, port: UInt16),
                        hopLimit: UInt8 = 64, multicast: MulticastSendOptions = MulticastSendOptions()) throws(StackError) {
        guard bytes.count <= Self.maximumUDPPayload else {
            throw StackError(.messageTooLong, "UDP payload of \(bytes.count) bytes: at most \(Self.maximumUDPPayload)")
        }
        guard let head = copyIntoBuffers(bytes) else {
            tally[.noBuffers] += 1
            throw StackError(.noBuffers, "the packet pool '\(pool.name)' is exhausted: free received datagrams or make a larger pool")
        }
        try udpSend(endpoint, head, to: destination, hopLimit: hopLimit, multicast: multicast)
    }

    /// ICMPv6 destination unreachable, port (RFC 4443 §3.1), quoting as
    /// much of the invoking packet as this segment holds and the minimum
    /// MTU allows; rate-limited with the IPv4 errors (§2.4 (f)).
    func sendPortUnreachableIPv6(about packet: PacketBuffer, _ delivery: IPv6Delivery) {
        let sourceField = sourceAddressLocation(packet, delivery)
        guard sourceField != packet.data, let state = delivery.interface.ipv6, state.owns(delivery.destination) else { return }
        guard takeICMPErrorToken() else {
            tally[.icmpRateLimited] += 1
            return
        }
        let invoking = sourceField - 8
        let quoteLength = min(packet.data + packet.length - invoking, ICMPv6Repr.maximumQuoteLength)
        let repr = ICMPv6Repr.destinationUnreachable(code: ICMPv6Repr.portUnreachableCode, quoteLength: quoteLength)
        guard let reply = pool.allocate() else {
            tally[.noBuffers] += 1
            return
        }
        guard let start = reply.append(repr.bufferLength) else {
            tally[.noBuffers] += 1
            reply.free()
            return
        }
        let message = ICMPv6Message(unchecked: UnsafeMutableRawBufferPointer(start: start, count: repr.bufferLength))
        message.body.copyMemory(from: UnsafeRawBufferPointer(start: invoking, count: quoteLength))
        repr.emit(into: message, source: delivery.destination, destination: delivery.source)
        guard let nextHop = state.isOnLink(delivery.source) ? delivery.source : state.defaultRouter else {
            tally[.ipv6NoRoute] += 1
            reply.free()
            return
        }
        tally[.icmpErrorsSent] += 1
        sendIPv6(reply, nextHeader: .icmpv6, to: delivery.source,
                 route: IPv6Route(interface: delivery.interface, nextHop: nextHop, source: delivery.destination))
    }
}
