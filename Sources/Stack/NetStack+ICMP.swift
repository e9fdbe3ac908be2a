import Packets
import Wire

extension NetStack {
    func handleICMP(_ packet: PacketBuffer, _ delivery: IPv4Delivery) {
        let message: ICMPv4Message
        let repr: ICMPv4Repr
        do throws(WireError) {
            message = try ICMPv4Message(checking: packet.bytes)
            // The checksum covers every segment of a reassembled message.
            guard InternetChecksum.sum(packet: packet, initial: 0) == 0xFFFF else { throw WireError.badChecksum }
            repr = try ICMPv4Repr.parse(message, verifyChecksum: false)
        } catch {
            tally.countMalformed(.icmp, error)
            packet.free()
            return
        }
        switch repr {
        case .echoRequest:
            tally[.icmpEchoRequests] += 1
            // Reply in the same buffer (chain): only the type changes, so the
            // checksum is updated, not recomputed (RFC 1624).
            let oldWord = UInt16(message.type.rawValue) << 8 | UInt16(message.code)
            message.type = .echoReply
            message.checksum = InternetChecksum.update(message.checksum, replacing: oldWord,
                                                       with: UInt16(ICMPv4Type.echoReply.rawValue) << 8 | UInt16(message.code))
            let source = delivery.isBroadcast ? delivery.interface.address : delivery.destination
            guard let route = route(to: delivery.source, from: source) else {
                tally[.ipv4NoRoute] += 1
                packet.free()
                return
            }
            tally[.icmpEchoReplies] += 1
            sendIPv4(packet, protocol: .icmp, to: delivery.source, route: route)
        case .destinationUnreachable(let code, _, let original):
            tally[.icmpErrorsReceived] += 1
            deliverUnreachable(code: code, original: original)
            packet.free()
        case .timeExceeded:
            tally[.icmpErrorsReceived] += 1
            packet.free()
        case .echoReply(let identifier, let sequenceNumber, _):
            tally[.icmpEchoRepliesReceived] += 1
            lastEchoReply = EchoReply(source: delivery.source, identifier: identifier, sequenceNumber: sequenceNumber,
                                      payloadLength: packet.packetLength - ICMPv4Message.headerLength)
            packet.free()
        }
    }

    /// Sends an ICMP echo request (ping) with `payloadLength` bytes of
    /// pattern; the answer shows in `lastEchoReply`.
    public func sendEchoRequest(to destination: IPv4Address, identifier: UInt16, sequenceNumber: UInt16,
                                payloadLength: Int) throws(StackError) {
        guard payloadLength >= 0, payloadLength <= Self.maximumUDPPayload + 8 - ICMPv4Message.headerLength else {
            throw StackError(.messageTooLong, "echo payload of \(payloadLength) bytes: at most \(Self.maximumUDPPayload)")
        }
        guard let route = route(to: destination) else {
            throw StackError(.networkUnreachable, "no route to \(destination): add an interface on its subnet or a gateway")
        }
        let total = ICMPv4Message.headerLength + payloadLength
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 8)
        defer { scratch.deallocate() }
        for i in 0..<payloadLength { scratch[ICMPv4Message.headerLength + i] = UInt8(truncatingIfNeeded: i) }
        ICMPv4Repr.echoRequest(identifier: identifier, sequenceNumber: sequenceNumber, payloadLength: payloadLength)
            .emit(into: ICMPv4Message(unchecked: scratch))
        guard let packet = copyIntoBuffers(UnsafeRawBufferPointer(scratch)) else {
            throw StackError(.noBuffers, "the packet pool '\(pool.name)' is exhausted")
        }
        sendIPv4(packet, protocol: .icmp, to: destination, route: route)
    }

    /// Gives an incoming unreachable to the UDP endpoint whose datagram it
    /// quotes (the socket layer turns it into ECONNREFUSED and friends).
    func deliverUnreachable(code: ICMPv4UnreachableCode, original: ICMPv4Quote) {
        guard original.header.protocol == .udp,
              let i = udp.find(destination: original.header.source, destinationPort: original.sourcePort,
                               source: original.header.destination, sourcePort: original.destinationPort)
        else {
            tally[.icmpErrorUnmatched] += 1
            return
        }
        let error: StackError.Kind
        switch code {
        case .port, .protocol: error = .connectionRefused
        case .network: error = .networkUnreachable
        default: error = .hostUnreachable
        }
        udp.setError(i, error)
    }

    /// Takes a token from the ICMP error budget; false when it is spent.
    func takeICMPErrorToken() -> Bool {
        if icmpTokens < limits.icmpErrorBurst {
            let earned = Int((now &- icmpRefilledAt) / max(cyclesPerICMPToken, 1))
            if earned > 0 {
                icmpTokens = min(limits.icmpErrorBurst, icmpTokens + earned)
                icmpRefilledAt = now
            }
        } else {
            icmpRefilledAt = now
        }
        guard icmpTokens > 0 else { return false }
        icmpTokens -= 1
        return true
    }

    /// Sends destination unreachable `code` about the datagram whose
    /// payload is `packet` (its IP header still in the headroom), rate
    /// limited. Never for broadcasts (RFC 1122 3.2.2).
    func sendUnreachable(_ code: ICMPv4UnreachableCode, about packet: PacketBuffer, _ delivery: IPv4Delivery) {
        guard !delivery.isBroadcast else { return }
        guard takeICMPErrorToken() else {
            tally[.icmpRateLimited] += 1
            return
        }
        guard let route = route(to: delivery.source, from: delivery.destination) else {
            tally[.ipv4NoRoute] += 1
            return
        }
        let headerStart = packet.data - delivery.headerLength
        let quotedLength = delivery.headerLength + min(ICMPv4Quote.leadingByteCount, packet.length)
        guard packet.length >= ICMPv4Quote.leadingByteCount,
              let quote = try? ICMPv4Quote.parse(UnsafeMutableRawBufferPointer(start: headerStart, count: quotedLength))
        else { return }
        let repr = ICMPv4Repr.destinationUnreachable(code: code, nextHopMTU: 0, original: quote)
        guard let reply = pool.allocate() else {
            tally[.noBuffers] += 1
            return
        }
        guard let start = reply.append(repr.bufferLength) else {
            reply.free()
            tally[.noBuffers] += 1
            return
        }
        repr.emit(into: ICMPv4Message(unchecked: UnsafeMutableRawBufferPointer(start: start, count: repr.bufferLength)))
        // The quote is the header as received (not re-emitted from the
        // Repr, which would drop options and rewrite the checksum).
        (start + ICMPv4Message.headerLength).copyMemory(from: headerStart, byteCount: quotedLength)
        let message = ICMPv4Message(unchecked: UnsafeMutableRawBufferPointer(start: start, count: ICMPv4Message.headerLength + quotedLength))
        reply.length = ICMPv4Message.headerLength + quotedLength
        message.fillChecksum()
        tally[.icmpErrorsSent] += 1
        sendIPv4(reply, protocol: .icmp, to: delivery.source, route: route)
    }
}
