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
            let payload = UnsafeRawBufferPointer(segment.payload)
            let lending = packet.isContiguous && tcpConfiguration.receiveLending ? lend(packet, payload) : nil
            if tcp.handle(segment: repr, payload: payload, source: delivery.source,
                          destination: delivery.destination, now: tcpNow, lending: lending) {
                lentTCPBuffers.pointee += 1
                return  // a receive ring keeps the buffer; releaseLentTCPBuffer frees it
            }
        } catch {
            counters.countMalformed(.tcp, error)
        }
        packet.free()
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

    /// Builds the packet for one outgoing segment: the header from its Repr,
    /// the payload copied from the connection's send buffer, the checksum
    /// over the whole segment, then IPv4 (with ARP) takes it.
    func sendTCP(_ segment: TCPOutgoingSegment, from table: TCPEndpointTable) {
        guard let route = route(to: segment.destination, from: segment.source) else {
            counters[.tcpNoRoute] += 1
            return
        }
        let headerLength = segment.repr.headerLength
        let total = headerLength + segment.payloadLength
        guard let packet = pool.allocate() else {
            // Lost like a segment on the wire: TCP retransmits it.
            counters[.noBuffers] += 1
            return
        }
        guard let start = packet.append(total) else {
            counters[.noBuffers] += 1
            packet.free()
            return
        }
        if segment.payloadLength > 0 {
            table.copyPayload(of: segment, to: start + headerLength)
        }
        segment.repr.emit(
            into: TCPSegment(unchecked: UnsafeMutableRawBufferPointer(start: start, count: total)),
            source: route.source, destination: segment.destination, checksum: .compute)
        counters[.tcpSent] += 1
        let ip = table.ipOptions(of: segment)
        sendIPv4(packet, protocol: .tcp, to: segment.destination, route: route,
                 timeToLive: ip.timeToLive, typeOfService: ip.typeOfService)
    }
}

/// A lent packet buffer's release (a C function: the ring keeps no Swift
/// closure): counts it back and frees it to its pool, on the core's thread.
private let releaseLentTCPBuffer: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    let packet = PacketBuffer(header: context!.assumingMemoryBound(to: PacketHeader.self))
    UnsafeMutablePointer<Int>(bitPattern: UInt(packet.userData))!.pointee -= 1
    packet.free()
}
