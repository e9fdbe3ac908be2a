import Packets
import TCP
import Wire

/// TCP over IPv6: the same endpoint table as IPv4 (its endpoints are IPv6
/// width, IPv4 ones v4-mapped); only the pseudo-header (RFC 8200 §8.1),
/// the route and the network header differ. Software receive coalescing
/// (GRO) as IPv4; no TSO here yet (the ports offer no TSO6); checksums are
/// summed in software unless the device vouched for a received one.
extension NetStack {
    func handleTCPv6(_ packet: PacketBuffer, _ delivery: IPv6Delivery) {
        counters[.tcpReceived] += 1
        guard !delivery.destination.isMulticast else {
            // TCP is unicast only; no RST either (RFC 9293 3.10.7.1).
            counters[.tcpToBroadcast] += 1
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
            let headerLength = segment.headerLength
            if !chained && coalesceTCP(packet, repr: repr, source: delivery.source, destination: delivery.destination,
                                       headerLength: headerLength, payloadLength: packet.packetLength - headerLength) {
                return  // held, or delivered with its run (software GRO, as IPv4)
            }
            handOverTCP(packet, repr: repr, source: delivery.source, destination: delivery.destination,
                        headerLength: headerLength, segments: 1)
            return
        } catch {
            counters.countMalformed(.tcp, error)
        }
        packet.free()
    }

    /// One outgoing segment over IPv6: header from its Repr, payload copied
    /// once from the send buffer, checksum over the IPv6 pseudo-header, then
    /// `sendIPv6` (with NDP), from the connection's own address.
    func sendTCPv6(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        guard let route = routeIPv6(to: segment.destination) else {
            counters[.tcpNoRoute] += 1
            return
        }
        let headerLength = segment.repr.headerLength
        guard let (packet, start, first) = tcpPacket(for: segment, from: table) else { return }
        let view = TCPSegment(unchecked: UnsafeMutableRawBufferPointer(start: start, count: headerLength + first))
        if packet.isContiguous {
            segment.repr.emit(into: view, source: segment.source, destination: segment.destination, checksum: .compute)
        } else {
            segment.repr.emit(into: view, source: segment.source, destination: segment.destination, checksum: .omit)
            let pseudo = InternetChecksum.pseudoHeaderSum(source: segment.source, destination: segment.destination,
                                                          nextHeader: .tcp, length: packet.packetLength)
            view.checksum = InternetChecksum.finish(InternetChecksum.sum(packet: packet, initial: pseudo))
        }
        counters[.tcpSent] += 1
        var sending = route
        sending.source = segment.source
        sendIPv6(packet, nextHeader: .tcp, to: segment.destination, route: sending,
                 hopLimit: table.ipOptions(of: segment).timeToLive)
    }
}
