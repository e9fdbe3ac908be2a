import Wire

// The frames the peer sends, built with Wire so lengths and checksums are
// right unless the program asks for them wrong (a parser that only ever
// sees bad checksums never reaches the protocols behind it).
extension StackFuzzWorld {
    /// Ethernet + IPv4 around `payload` (a whole datagram, or a fragment of
    /// one when `fragmentOffset`/`moreFragments` say so).
    static func ipv4Frame(from source: IPv4Address, to destination: IPv4Address = stackAddress,
                          protocol number: IPProtocol, payload: [UInt8], identification: UInt16 = 0,
                          moreFragments: Bool = false, fragmentOffset: Int = 0, ttl: UInt8 = 64,
                          destinationMAC: MACAddress = stackMAC) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14 + 20 + payload.count)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: destinationMAC, source: peerMAC, etherType: .ipv4)
                .emit(into: EthernetFrame(unchecked: bytes))
            IPv4Repr(source: source, destination: destination, protocol: number, payloadLength: payload.count,
                     timeToLive: ttl, identification: identification, moreFragments: moreFragments,
                     fragmentOffset: fragmentOffset)
                .emit(into: IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])))
        }
        frame.replaceSubrange(34..., with: payload)
        return frame
    }

    static func arpFrame(_ operation: ARPOperation, sender: IPv4Address, senderMAC: MACAddress,
                         target: IPv4Address, broadcast: Bool) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14 + ARPPacket.length)
        frame.withUnsafeMutableBytes { bytes in
            EthernetRepr(destination: broadcast ? .broadcast : stackMAC, source: senderMAC, etherType: .arp)
                .emit(into: EthernetFrame(unchecked: bytes))
            ARPRepr(operation: operation, senderHardwareAddress: senderMAC, senderProtocolAddress: sender,
                    targetHardwareAddress: operation == .reply ? stackMAC : .zero, targetProtocolAddress: target)
                .emit(into: ARPPacket(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])))
        }
        return frame
    }

    /// A TCP segment (header, options, payload) with its checksum.
    static func tcpSegment(_ tcp: TCPRepr, payload: [UInt8], from source: IPv4Address) -> [UInt8] {
        var segment = [UInt8](repeating: 0, count: tcp.headerLength + payload.count)
        segment.replaceSubrange(tcp.headerLength..., with: payload)
        segment.withUnsafeMutableBytes { bytes in
            tcp.emit(into: TCPSegment(unchecked: bytes), source: source, destination: stackAddress)
        }
        return segment
    }

    static func udpDatagram(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8],
                            from source: IPv4Address, checksum: TransportChecksum) -> [UInt8] {
        var datagram = [UInt8](repeating: 0, count: 8 + payload.count)
        datagram.replaceSubrange(8..., with: payload)
        datagram.withUnsafeMutableBytes { bytes in
            UDPRepr(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
                .emit(into: UDPDatagram(unchecked: bytes), source: source, destination: stackAddress, checksum: checksum)
        }
        return datagram
    }

    /// An ICMP message (type, code, rest of header, body) with its checksum.
    static func icmpMessage(type: UInt8, code: UInt8, rest: UInt32, body: [UInt8]) -> [UInt8] {
        var message: [UInt8] = [type, code, 0, 0, UInt8(rest >> 24), UInt8(truncatingIfNeeded: rest >> 16),
                                UInt8(truncatingIfNeeded: rest >> 8), UInt8(truncatingIfNeeded: rest)] + body
        let sum = message.withUnsafeBytes { InternetChecksum.checksum($0) }
        message[2] = UInt8(sum >> 8)
        message[3] = UInt8(truncatingIfNeeded: sum)
        return message
    }

    // MARK: What the stack sent

    /// Answers the stack's ARP requests for the peer (.2), and learns TCP
    /// sequence numbers from its segments.
    func learn(_ frame: [UInt8]) {
        var copy = frame
        copy.withUnsafeMutableBytes { bytes in
            guard let ethernet = try? EthernetFrame(checking: bytes) else { return }
            let header = EthernetRepr.parse(ethernet)
            let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[header.headerLength...])
            if header.etherType == .arp {
                guard let packet = try? ARPPacket(checking: payload), let arp = try? ARPRepr.parse(packet),
                      arp.operation == .request, arp.targetProtocolAddress == Self.peerAddress else { return }
                pendingReplies.append(Self.arpFrame(.reply, sender: Self.peerAddress, senderMAC: Self.peerMAC,
                                                    target: arp.senderProtocolAddress, broadcast: false))
                return
            }
            guard header.etherType == .ipv4, let ip = try? IPv4Packet(checking: payload),
                  let repr = try? IPv4Repr.parse(ip, verifyChecksum: false), repr.protocol == .tcp,
                  !repr.moreFragments, repr.fragmentOffset == 0,
                  let segment = try? TCPSegment(checking: ip.payload),
                  let tcp = try? TCPRepr.parse(segment, source: repr.source, destination: repr.destination, verifyChecksum: false)
            else { return }
            learnTCP(tcp, payloadLength: segment.payload.count, peer: repr.destination)
        }
    }

    private func learnTCP(_ tcp: TCPRepr, payloadLength: Int, peer: IPv4Address) {
        var length = UInt32(payloadLength)
        if tcp.flags.contains(.syn) { length += 1 }
        if tcp.flags.contains(.fin) { length += 1 }
        let end = tcp.sequenceNumber &+ length
        if let i = flows.firstIndex(where: { $0.peer == peer && $0.peerPort == tcp.destinationPort && $0.stackPort == tcp.sourcePort }) {
            // Keep the furthest point the stack reached (retransmissions go back).
            if Int32(bitPattern: end &- flows[i].stackNext) > 0 || tcp.flags.contains(.syn) { flows[i].stackNext = end }
            if tcp.flags.contains(.ack) { flows[i].peerNext = tcp.acknowledgmentNumber }
            return
        }
        // A connection the stack opened (its SYN), or an answer on one the peer opened.
        flows.append(TCPFlow(peer: peer, peerPort: tcp.destinationPort, stackPort: tcp.sourcePort,
                             stackNext: end, peerNext: tcp.flags.contains(.ack) ? tcp.acknowledgmentNumber : 0))
        if flows.count > 16 { flows.removeFirst() }
    }
}
