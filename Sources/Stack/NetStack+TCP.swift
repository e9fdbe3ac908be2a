import Packets
import TCP
import Wire

/// TCP in the poll loop: segments in to the endpoint table, its timers,
/// and its segments out as IPv4 packets. The table is a pure state machine
/// (Sources/TCP); this file is the only place that moves bytes between it
/// and packet buffers.
extension NetStack {
    /// The core's TCP endpoints (listeners, connections, TIME-WAIT). Made on
    /// first use with the MSS bounded by the smallest interface MTU and by
    /// what one packet buffer holds.
    var tcp: TCPEndpointTable {
        if let table = tcpTable { return table }
        var configuration = tcpConfiguration
        let smallestMTU = interfaces.map(\.mtu).min() ?? configuration.mtu
        // Ethernet + IPv4 + TCP headers with options must fit one buffer.
        let bufferMTU = pool.dataRoomSize - EthernetFrame.headerLength
        configuration.mtu = min(configuration.mtu, smallestMTU, bufferMTU)
        // TSO when every interface cuts segments (and sums them): up to an
        // IPv4 datagram, in a chain of at most half the segments a packet may have.
        let chainLimit = pool.dataRoomSize * (PacketBuffer.maximumSegments / 2)
        let segmenting = !interfaces.isEmpty
            && interfaces.allSatisfy { $0.transmitOffloads.isSuperset(of: Self.segmentationOffloads) }
        configuration.segmentationOffloadLimit = segmenting
            ? min(TCPConfiguration.largestOffloadedPayload, chainLimit) : 0
        // Over IPv6 when an interface cuts TCP over IPv6 (TSO6); the stack
        // cuts for the others (software GSO in sendTCPv6).
        let segmentingIPv6 = interfaces.contains { $0.transmitOffloads.isSuperset(of: Self.segmentationOffloadsIPv6) }
        configuration.segmentationOffloadLimitIPv6 = segmentingIPv6
            ? min(TCPConfiguration.largestOffloadedPayloadIPv6, chainLimit) : 0
        let table = TCPEndpointTable(configuration: configuration)
        table.knownPathMTU = { [unowned self] in self.knownPathMTU(toward: $0) }
        tcpTable = table
        return table
    }

    /// The stack's clock as TCP sees it.
    var tcpNow: TCPInstant {
        TCPInstant(microseconds: clock.nanoseconds(fromCycles: now) / 1000)
    }

    // MARK: Receive

    func deliverTCP(_ packet: PacketBuffer, _ delivery: IPv4Delivery) {
        tally[.tcpReceived] += 1
        guard !delivery.isBroadcast else {
            // RFC 1122: TCP is unicast only; no RST either.
            tally[.tcpToBroadcast] += 1
            packet.free()
            return
        }
        do throws(WireError) {
            // The header lies in the first segment; a chain's payload (a
            // reassembled datagram, a device's coalesced frame) stays where
            // it is and TCP copies it once, into the receive ring.
            let segment = try TCPSegment(checking: packet.bytes)
            let chained = !packet.isContiguous
            // NEEDS_CSUM (virtio, rxL4ChecksumNone): a local sender's frame
            // that never crossed a wire, valid as Linux takes CHECKSUM_PARTIAL.
            let trusted = !packet.offloadFlags.isDisjoint(with: [.rxL4ChecksumGood, .rxL4ChecksumNone])
            if chained && !trusted {
                let pseudo = InternetChecksum.pseudoHeaderSum(source: delivery.source, destination: delivery.destination,
                                                              protocol: .tcp, length: packet.packetLength)
                guard InternetChecksum.sum(packet: packet, initial: pseudo) == 0xFFFF else { throw WireError.badChecksum }
            }
            let repr = try TCPRepr.parse(segment, source: delivery.source, destination: delivery.destination,
                                         verifyChecksum: !trusted && !chained)
            if let steering = flowSteering {
                countIfOnWrongCore(steering, packet, delivery, sourcePort: repr.sourcePort, destinationPort: repr.destinationPort)
            }
            let headerLength = segment.headerLength
            let payloadLength = packet.packetLength - headerLength
            let source = IPv6Address(ipv4Mapped: delivery.source)
            let destination = IPv6Address(ipv4Mapped: delivery.destination)
            if !chained && coalesceTCP(packet, repr: repr, source: source, destination: destination, headerLength: headerLength,
                                       payloadLength: payloadLength) {
                return  // held, or delivered with its run
            }
            let segments = packet.offloadFlags.contains(.rxTCPCoalesced)
                ? wireSegments(payloadLength: payloadLength, headerLength: headerLength, delivery) : 1
            handOverTCP(packet, repr: repr, source: source, destination: destination, headerLength: headerLength, segments: segments)
            return
        } catch {
            tally.countMalformed(.tcp, error)
        }
        packet.free()
    }

    /// Segments a device's coalesced frame stood for (1 for any frame
    /// within the MTU): TCP owes a duplicate ACK per wire segment.
    @inline(__always)
    private func wireSegments(payloadLength: Int, headerLength: Int, _ delivery: IPv4Delivery) -> Int {
        let segmentSize = delivery.interface.mtu - IPv4Packet.minimumHeaderLength - headerLength
        guard segmentSize > 0, payloadLength > segmentSize else { return 1 }
        return (payloadLength + segmentSize - 1) / segmentSize
    }

    /// Hands a segment (its header `headerLength` bytes at the packet's
    /// start, then the payload, possibly a chain) to TCP and frees it.
    /// Addresses are IPv6 width (IPv4 ones v4-mapped), as TCP keys them.
    func handOverTCP(_ packet: PacketBuffer, repr: TCPRepr, source: IPv6Address, destination: IPv6Address,
                     headerLength: Int, segments: Int) {
        let regions = tcpCoalescer.regions
        var others = 0
        var next = packet.nextSegment
        while let segment = next, others < regions.count {
            regions[others] = UnsafeRawBufferPointer(segment.bytes)
            others += 1
            next = segment.nextSegment
        }
        let first = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet.bytes)[headerLength...])
        let payload = TCPPayload(first: first, others: UnsafeBufferPointer(rebasing: regions[0..<others]),
                                 segmentCount: segments)
        // A one-buffer segment may stay where the NIC put it (receive lending).
        let lending = others == 0 && tcpConfiguration.receiveLending ? lend(packet, first) : nil
        if tcp.handle(segment: repr, payload: payload, source: source, destination: destination,
                      now: tcpNow, lending: lending) {
            lentTCPBuffers.pointee += 1
            return  // a receive ring keeps the buffer; releaseLentTCPBuffer frees it
        }
        packet.free()
    }

    // MARK: Receive coalescing (GRO, TCPReceiveCoalescer)

    /// Offers a contiguous segment to the coalescer; false when it is not
    /// held and the caller hands it to TCP now (after any run of its flow,
    /// which goes first to keep the flow's order). Addresses at IPv6 width:
    /// IPv4 and IPv6 segments coalesce alike.
    func coalesceTCP(_ packet: PacketBuffer, repr: TCPRepr, source: IPv6Address, destination: IPv6Address,
                     headerLength: Int, payloadLength: Int) -> Bool {
        let coalescer = tcpCoalescer
        // Receive lending keeps one-buffer payloads in place (one copy fewer
        // than GRO's chain, which is copied into the ring): it goes first.
        guard coalescer.capacity > 0, !tcpConfiguration.receiveLending else { return false }
        let candidate = TCPReceiveCoalescer.isCandidate(repr, payloadLength: payloadLength)
        if let index = coalescer.find(repr, source: source, destination: destination) {
            let run = coalescer.run(at: index)
            if candidate && TCPReceiveCoalescer.continues(run, with: repr, payloadLength: payloadLength) {
                coalescer.append(packet, to: index, repr: repr, headerLength: headerLength, payloadLength: payloadLength)
                tally[.tcpCoalesced] += 1
                if TCPReceiveCoalescer.ends(run, with: repr, payloadLength: payloadLength) { flushTCPRun(at: index) }
                return true
            }
            flushTCPRun(at: index)
        }
        // A PSH segment alone ends its run at once: nothing to hold.
        guard candidate, !repr.flags.contains(.psh) else { return false }
        if coalescer.count == coalescer.capacity { flushTCPRun(at: 0) }
        return coalescer.start(packet, repr: repr, source: source, destination: destination,
                               headerLength: headerLength, payloadLength: payloadLength)
    }

    private func flushTCPRun(at index: Int) {
        let run = tcpCoalescer.remove(at: index)
        handOverTCP(run.head, repr: run.repr, source: run.source, destination: run.destination,
                    headerLength: run.headerLength, segments: run.segments)
    }

    /// Hands every held run to TCP: at the end of each receive burst,
    /// before TCP's output runs.
    func flushCoalescedTCP() {
        while tcpCoalescer.count > 0 { flushTCPRun(at: tcpCoalescer.count - 1) }
    }

    /// The packet holding `payload`, offered to TCP's receive rings so a
    /// large in-order payload stays where the NIC put it (one copy fewer;
    /// Docs/NIO.md "Copies"). Charged as the whole buffer, Linux's truesize.
    /// Not offered when rings already hold a quarter of the pool: received
    /// data an application leaves unread must not starve the receive queues.
    private func lend(_ packet: PacketBuffer, _ payload: UnsafeRawBufferPointer) -> TCPBorrowedBytes? {
        guard payload.count > 0, lentTCPBuffers.pointee < pool.capacity / 4 else { return nil }
        packet.userData = UInt64(UInt(bitPattern: lentTCPBuffers))
        return TCPBorrowedBytes(bytes: payload, charge: pool.dataRoomSize,
                                release: releaseLentTCPBuffer, context: UnsafeMutableRawPointer(packet.header))
    }

    // MARK: Timers, output, events

    /// Fires due TCP timers, sends every segment the table has ready and
    /// hands its events to `tcpEventHandler`. Runs on every poll step, and
    /// at the end of each TCP call (NetStack+TCPCalls.swift) so that a send
    /// goes out without waiting a step.
    func runTCP() {
        guard let table = tcpTable else { return }
        let now = tcpNow
        if let deadline = tcpDeadline, deadline <= now {
            table.poll(now: now)
        }
        while let segment = table.nextSegment(now: now) {
            sendTCP(segment, from: table)
        }
        tcpDeadline = table.nextDeadline
        if let handler = tcpEventHandler {
            while let event = table.nextEvent() { handler(streamEvent(event, in: table)) }
        } else {
            while table.nextEvent() != nil {}
        }
    }

    /// The table's event as the socket layer sees it.
    private func streamEvent(_ event: TCPTableEvent, in table: TCPEndpointTable) -> TCPStreamEvent {
        switch event {
        case .connection(let id, let events):
            let failure = events.contains(.closed) ? table.connection(id)?.error.map(TCPStreamFailure.init) : nil
            return .stream(TCPStreamHandle(id: id), connected: events.contains(.connected), failure: failure)
        case .listener(let id, _):
            return .listener(TCPListenerHandle(id: id))
        }
    }

    static let segmentationOffloads: OffloadFlags = [.txTCPSegmentation, .txTCPChecksum]
    static let segmentationOffloadsIPv6: OffloadFlags = [.txTCPSegmentationIPv6, .txTCPChecksum, .txIPv6]

    /// Builds the packet for one outgoing segment: the header from its Repr,
    /// the payload copied once from the connection's send buffer (into a
    /// chain when it is larger than a buffer: a TSO segment), the checksum
    /// by the device when the interface offers it, else over the segment
    /// here; then IPv4 (with ARP) takes it.
    func sendTCP(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        guard let destination = segment.destination.ipv4Mapped, let source = segment.source.ipv4Mapped else {
            sendTCPv6(segment, from: table)
            return
        }
        guard let route = route(to: destination, from: source) else {
            tally[.tcpNoRoute] += 1
            return
        }
        let offloads = route.interface.transmitOffloads
        let segmented = segment.needsSegmentation
        guard !segmented || offloads.isSuperset(of: Self.segmentationOffloads) else {
            // Only when interfaces differ in offloads: lost, TCP resends MSS-sized.
            tally[.noBuffers] += 1
            return
        }
        let headerLength = segment.repr.headerLength
        guard let (packet, start, first) = tcpPacket(for: segment, from: table) else { return }
        let offloaded = offloads.contains(.txTCPChecksum)
        segment.repr.emit(
            into: TCPSegment(unchecked: UnsafeMutableRawBufferPointer(start: start, count: headerLength + first)),
            source: route.source, destination: destination, checksum: offloaded ? .omit : .compute)
        if offloaded {
            // The driver seeds the pseudo-header sum the device finishes.
            packet.offloadFlags = segmented ? [.txIPv4, .txTCPChecksum, .txTCPSegmentation] : [.txIPv4, .txTCPChecksum]
            packet.setHeaderLengths(l2: EthernetFrame.headerLength, l3: IPv4Packet.minimumHeaderLength, l4: headerLength)
            if segmented { packet.segmentSize = segment.segmentSize }
        }
        tally[.tcpSent] += 1
        let ip = table.ipOptions(of: segment)
        sendIPv4(packet, protocol: .tcp, to: destination, route: route,
                 timeToLive: ip.timeToLive, typeOfService: ip.typeOfService)
    }

    /// A packet holding room for the segment's header at `start` and its
    /// payload copied once from the send buffer (`first` bytes behind the
    /// header, the rest chained); nil (counted) when the pool runs out:
    /// lost like a segment on the wire, TCP retransmits it.
    func tcpPacket(for segment: TCPOutgoingSegment, from table: TCPEndpointTable)
        -> (packet: PacketBuffer, start: UnsafeMutableRawPointer, first: Int)? {
        let headerLength = segment.repr.headerLength
        guard let packet = pool.allocate() else {
            tally[.noBuffers] += 1
            return nil
        }
        let first = min(segment.payloadLength, max(packet.tailroom - headerLength, 0))
        guard let start = packet.append(headerLength + first) else {
            tally[.noBuffers] += 1
            packet.free()
            return nil
        }
        if first > 0 { table.copyPayload(of: segment, from: 0, count: first, to: start + headerLength) }
        if first < segment.payloadLength {
            guard appendPayload(of: segment, from: first, to: packet, table: table) else {
                tally[.noBuffers] += 1
                packet.free()
                return nil
            }
        }
        return (packet, start, first)
    }

    /// The rest of a large segment's payload in buffers chained to
    /// `packet`, each filled to its tailroom; false when the pool runs out.
    private func appendPayload(of segment: TCPOutgoingSegment, from offset: Int, to packet: PacketBuffer,
                               table: TCPEndpointTable) -> Bool {
        var copied = offset
        var last = packet
        while copied < segment.payloadLength {
            guard packet.segmentCount < PacketBuffer.maximumSegments, let next = pool.allocate() else { return false }
            let count = min(next.tailroom, segment.payloadLength - copied)
            guard count > 0, let data = next.append(count) else {
                next.free()
                return false
            }
            table.copyPayload(of: segment, from: copied, count: count, to: data)
            // Linked by hand: chain() would walk the whole chain each time.
            last.header.pointee.next = next.header
            packet.header.pointee.segmentCount &+= 1
            packet.header.pointee.packetLength &+= UInt32(count)
            last = next
            copied += count
        }
        return true
    }
}

/// A lent packet buffer's release (a C function: the ring keeps no Swift
/// closure): counts it back and frees it to its pool, on the core's thread.
private let releaseLentTCPBuffer: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    let packet = PacketBuffer(header: context!.assumingMemoryBound(to: PacketHeader.self))
    UnsafeMutablePointer<Int>(bitPattern: UInt(packet.userData))!.pointee -= 1
    packet.free()
}
