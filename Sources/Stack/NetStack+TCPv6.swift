import Packets
import TCP
import Wire

/// TCP over IPv6: the same endpoint table as IPv4 (its endpoints are IPv6
/// width, IPv4 ones v4-mapped); only the pseudo-header (RFC 8200 §8.1),
/// the route and the network header differ. Software receive coalescing
/// (GRO) as IPv4, a device's coalesced frames (GUEST_TSO6) taken as they
/// come; transmit checksums and TSO6 by the device when the port offers
/// them; received checksums summed in software unless the device vouched.
extension NetStack {
    func handleTCPv6(_ packet: PacketBuffer, _ delivery: IPv6Delivery) {
        tally[.tcpReceived] += 1
        guard !delivery.destination.isMulticast else {
            // TCP is unicast only; no RST either (RFC 9293 3.10.7.1).
            tally[.tcpToBroadcast] += 1
            packet.free()
            return
        }
        do throws(WireError) {
            let segment = try TCPSegment(checking: packet.bytes)
            let chained = !packet.isContiguous
            let trusted = !packet.offloadFlags.isDisjoint(with: [.rxL4ChecksumGood, .rxL4ChecksumNone])
            if chained && !trusted {
                let pseudo = InternetChecksum.pseudoHeaderSum(source: delivery.source, destination: delivery.destination,
                                                              nextHeader: .tcp, length: packet.packetLength)
                guard InternetChecksum.sum(packet: packet, initial: pseudo) == 0xFFFF else { throw WireError.badChecksum }
            }
            let repr = try TCPRepr.parse(segment, source: delivery.source, destination: delivery.destination,
                                         verifyChecksum: !trusted && !chained)
            if let steering = flowSteering {
                countIfOnWrongCore(steering, packet, delivery, sourcePort: repr.sourcePort, destinationPort: repr.destinationPort)
            }
            let headerLength = segment.headerLength
            if !chained && coalesceTCP(packet, repr: repr, source: delivery.source, destination: delivery.destination,
                                       headerLength: headerLength, payloadLength: packet.packetLength - headerLength) {
                return  // held, or delivered with its run (software GRO, as IPv4)
            }
            handOverTCP(packet, repr: repr, source: delivery.source, destination: delivery.destination,
                        headerLength: headerLength, segments: 1)
            return
        } catch {
            tally.countMalformed(.tcp, error)
        }
        packet.free()
    }

    /// One outgoing segment over IPv6: header from its Repr, payload copied
    /// once from the send buffer, checksum by the device when the interface
    /// offers it for IPv6 (and the cut, TSO6, for a segment larger than one
    /// MSS), else over the IPv6 pseudo-header here; then `sendIPv6` (with
    /// NDP), from the connection's own address.
    func sendTCPv6(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        guard let route = routeIPv6(to: segment.destination) else {
            tally[.tcpNoRoute] += 1
            return
        }
        let offloads = route.interface.transmitOffloads
        let segmented = segment.needsSegmentation
        guard !segmented || offloads.isSuperset(of: Self.segmentationOffloadsIPv6) else {
            // A port without TSO6 beside one with it: cut here (software GSO).
            sendTCPv6Pieces(segment, from: table)
            return
        }
        let headerLength = segment.repr.headerLength
        guard let (packet, start, first) = tcpPacket(for: segment, from: table) else { return }
        let view = TCPSegment(unchecked: UnsafeMutableRawBufferPointer(start: start, count: headerLength + first))
        if offloads.isSuperset(of: [.txIPv6, .txTCPChecksum]) {
            // The driver seeds the pseudo-header sum the device finishes.
            segment.repr.emit(into: view, source: segment.source, destination: segment.destination, checksum: .omit)
            packet.offloadFlags = segmented ? [.txIPv6, .txTCPChecksum, .txTCPSegmentation] : [.txIPv6, .txTCPChecksum]
            packet.setHeaderLengths(l2: EthernetFrame.headerLength, l3: IPv6Packet.headerLength, l4: headerLength)
            if segmented { packet.segmentSize = segment.segmentSize }
        } else if packet.isContiguous {
            segment.repr.emit(into: view, source: segment.source, destination: segment.destination, checksum: .compute)
        } else {
            segment.repr.emit(into: view, source: segment.source, destination: segment.destination, checksum: .omit)
            let pseudo = InternetChecksum.pseudoHeaderSum(source: segment.source, destination: segment.destination,
                                                          nextHeader: .tcp, length: packet.packetLength)
            view.checksum = InternetChecksum.finish(InternetChecksum.sum(packet: packet, initial: pseudo))
        }
        tally[.tcpSent] += 1
        var sending = route
        sending.source = segment.source
        sendIPv6(packet, nextHeader: .tcp, to: segment.destination, route: sending,
                 hopLimit: table.ipOptions(of: segment).timeToLive)
    }

    /// A TSO segment for a port that cannot cut it, sent as its pieces: the
    /// same header with the sequence number advanced, PSH and FIN on the
    /// last piece only, the payload copied from the send buffer at each
    /// piece's offset (what the device would have done, Linux's GSO).
    private func sendTCPv6Pieces(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        var offset = 0
        while offset < segment.payloadLength {
            var piece = segment
            piece.payloadOffset = segment.payloadOffset + offset
            piece.payloadLength = min(segment.segmentSize, segment.payloadLength - offset)
            piece.repr.sequenceNumber = segment.repr.sequenceNumber &+ UInt32(offset)
            piece.segmentSize = 0
            if offset + piece.payloadLength < segment.payloadLength { piece.repr.flags.subtract([.psh, .fin]) }
            sendTCPv6(piece, from: table)
            offset += piece.payloadLength
        }
    }
}
