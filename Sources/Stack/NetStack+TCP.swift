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
        let segmenting = !interfaces.isEmpty
            && interfaces.allSatisfy { $0.transmitOffloads.isSuperset(of: Self.segmentationOffloads) }
        configuration.segmentationOffloadLimit = segmenting
            ? min(TCPConfiguration.largestOffloadedPayload, pool.dataRoomSize * (PacketBuffer.maximumSegments / 2)) : 0
        let table = TCPEndpointTable(configuration: configuration)
        tcpTable = table
        return table
    }

    /// The stack's clock as TCP sees it.
    var tcpNow: TCPInstant {
        TCPInstant(microseconds: clock.nanoseconds(fromCycles: now) / 1000)
    }

    // MARK: Receive

    func deliverTCP(_ packet: PacketBuffer, _ delivery: IPv4Delivery) {
        counters[.tcpReceived] += 1
        guard !delivery.isBroadcast else {
            // RFC 1122: TCP is unicast only; no RST either.
            counters[.tcpToBroadcast] += 1
            packet.free()
            return
        }
        // The state machine wants the segment contiguous; a reassembled
        // datagram (a chain) is copied into the scratch area first.
        let length = packet.packetLength
        let bytes: UnsafeMutableRawBufferPointer
        if packet.isContiguous {
            bytes = packet.bytes
        } else if length <= tcpScratch.count {
            _ = packet.copyBytes(from: 0, count: length, to: tcpScratch.baseAddress!)
            bytes = UnsafeMutableRawBufferPointer(rebasing: tcpScratch[0..<length])
        } else {
            counters.countMalformed(.tcp, .badLength)
            packet.free()
            return
        }
        do {
            let segment = try TCPSegment(checking: bytes)
            let verify = !packet.offloadFlags.contains(.rxL4ChecksumGood)
            let repr = try TCPRepr.parse(segment, source: delivery.source, destination: delivery.destination,
                                         verifyChecksum: verify)
            if let steering = flowSteering {
                countIfOnWrongCore(steering, packet, delivery, sourcePort: repr.sourcePort, destinationPort: repr.destinationPort)
            }
            tcp.handle(segment: repr, payload: UnsafeRawBufferPointer(segment.payload), source: delivery.source,
                       destination: delivery.destination, now: tcpNow)
        } catch {
            counters.countMalformed(.tcp, error)
        }
        packet.free()
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

    /// Builds the packet for one outgoing segment: the header from its Repr,
    /// the payload copied once from the connection's send buffer (into a
    /// chain when it is larger than a buffer: a TSO segment), the checksum
    /// by the device when the interface offers it, else over the segment
    /// here; then IPv4 (with ARP) takes it.
    func sendTCP(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        guard let route = route(to: segment.destination, from: segment.source) else {
            counters[.tcpNoRoute] += 1
            return
        }
        let offloads = route.interface.transmitOffloads
        let segmented = segment.needsSegmentation
        guard !segmented || offloads.isSuperset(of: Self.segmentationOffloads) else {
            // Only when interfaces differ in offloads: lost, TCP resends MSS-sized.
            counters[.noBuffers] += 1
            return
        }
        let headerLength = segment.repr.headerLength
        guard let packet = pool.allocate() else {
            // Lost like a segment on the wire: TCP retransmits it.
            counters[.noBuffers] += 1
            return
        }
        let first = min(segment.payloadLength, max(packet.tailroom - headerLength, 0))
        guard let start = packet.append(headerLength + first) else {
            counters[.noBuffers] += 1
            packet.free()
            return
        }
        if first > 0 { table.copyPayload(of: segment, from: 0, count: first, to: start + headerLength) }
        if first < segment.payloadLength {
            guard appendPayload(of: segment, from: first, to: packet, table: table) else {
                counters[.noBuffers] += 1
                packet.free()
                return
            }
        }
        let offloaded = offloads.contains(.txTCPChecksum)
        segment.repr.emit(
            into: TCPSegment(unchecked: UnsafeMutableRawBufferPointer(start: start, count: headerLength + first)),
            source: route.source, destination: segment.destination, checksum: offloaded ? .omit : .compute)
        if offloaded {
            // The driver seeds the pseudo-header sum the device finishes.
            packet.offloadFlags = segmented ? [.txIPv4, .txTCPChecksum, .txTCPSegmentation] : [.txIPv4, .txTCPChecksum]
            packet.setHeaderLengths(l2: EthernetFrame.headerLength, l3: IPv4Packet.minimumHeaderLength, l4: headerLength)
            if segmented { packet.segmentSize = segment.segmentSize }
        }
        counters[.tcpSent] += 1
        let ip = table.ipOptions(of: segment)
        sendIPv4(packet, protocol: .tcp, to: segment.destination, route: route,
                 timeToLive: ip.timeToLive, typeOfService: ip.typeOfService)
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
