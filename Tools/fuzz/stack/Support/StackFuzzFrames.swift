import Wire

// The frames the peer sends, built with Wire so lengths and checksums are
// right unless the program asks for them wrong (a parser that only ever
// sees bad checksums never reaches the protocols behind it). Each builder
// writes into the one scratch frame (`frame`, made once per process) and
// returns the length; `inject(length)` hands it to the stack. The layers
// are written inside out: the payload at its final offset first, then
// each header over it (so the checksums cover it), then IPv4 and Ethernet.
extension StackFuzzWorld {
    /// Where an IPv4 payload starts in a frame (Ethernet 14 + IPv4 20).
    static let ipPayload = 34

    /// Copies `bytes` into the frame at `offset`.
    static func place(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0, let source = bytes.baseAddress else { return }
        (frame.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    /// Ethernet + IPv4 in front of the `payloadLength` bytes already at
    /// `ipPayload` (a whole datagram, or a fragment of one when
    /// `fragmentOffset`/`moreFragments` say so). Returns the frame's length.
    static func ipv4Frame(from source: IPv4Address, to destination: IPv4Address = stackAddress,
                          protocol number: IPProtocol, payloadLength: Int, identification: UInt16 = 0,
                          moreFragments: Bool = false, fragmentOffset: Int = 0, ttl: UInt8 = 64,
                          destinationMAC: MACAddress = stackMAC) -> Int {
        let length = ipPayload + payloadLength
        let bytes = UnsafeMutableRawBufferPointer(rebasing: frame[0..<length])
        EthernetRepr(destination: destinationMAC, source: peerMAC, etherType: .ipv4)
            .emit(into: EthernetFrame(unchecked: bytes))
        IPv4Repr(source: source, destination: destination, protocol: number, payloadLength: payloadLength,
                 timeToLive: ttl, identification: identification, moreFragments: moreFragments,
                 fragmentOffset: fragmentOffset)
            .emit(into: IPv4Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])))
        return length
    }

    static func arpFrame(_ operation: ARPOperation, sender: IPv4Address, senderMAC: MACAddress,
                         target: IPv4Address, broadcast: Bool) -> Int {
        let length = 14 + ARPPacket.length
        let bytes = UnsafeMutableRawBufferPointer(rebasing: frame[0..<length])
        EthernetRepr(destination: broadcast ? .broadcast : stackMAC, source: senderMAC, etherType: .arp)
            .emit(into: EthernetFrame(unchecked: bytes))
        ARPRepr(operation: operation, senderHardwareAddress: senderMAC, senderProtocolAddress: sender,
                targetHardwareAddress: operation == .reply ? stackMAC : .zero, targetProtocolAddress: target)
            .emit(into: ARPPacket(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...])))
        return length
    }

    /// A TCP segment (header, options, payload) with its checksum at
    /// `ipPayload`; returns its length.
    static func tcpSegment(_ tcp: TCPRepr, payload: UnsafeRawBufferPointer, from source: IPv4Address) -> Int {
        let length = tcp.headerLength + payload.count
        place(payload, at: ipPayload + tcp.headerLength)
        tcp.emit(into: TCPSegment(unchecked: UnsafeMutableRawBufferPointer(rebasing: frame[ipPayload..<(ipPayload + length)])),
                 source: source, destination: stackAddress)
        return length
    }

    /// A UDP datagram with `payload` at `ipPayload`; returns its length.
    static func udpDatagram(sourcePort: UInt16, destinationPort: UInt16, payload: UnsafeRawBufferPointer,
                            from source: IPv4Address, checksum: TransportChecksum) -> Int {
        let length = 8 + payload.count
        place(payload, at: ipPayload + 8)
        UDPRepr(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
            .emit(into: UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(rebasing: frame[ipPayload..<(ipPayload + length)])),
                  source: source, destination: stackAddress, checksum: checksum)
        return length
    }

    /// An ICMP message (type, code, rest of header) over the `bodyLength`
    /// bytes already at `ipPayload + 8`, with its checksum; returns its length.
    static func icmpMessage(type: UInt8, code: UInt8, rest: UInt32, bodyLength: Int) -> Int {
        let length = 8 + bodyLength
        let message = UnsafeMutableRawBufferPointer(rebasing: frame[ipPayload..<(ipPayload + length)])
        message[0] = type
        message[1] = code
        message[2] = 0
        message[3] = 0
        message.storeBytes(of: rest.bigEndian, toByteOffset: 4, as: UInt32.self)
        let sum = InternetChecksum.checksum(UnsafeRawBufferPointer(message))
        message[2] = UInt8(sum >> 8)
        message[3] = UInt8(truncatingIfNeeded: sum)
        return length
    }

    // MARK: What the stack sent

    /// Answers the stack's ARP requests for the peer (.2), and learns TCP
    /// sequence numbers from its segments. `bytes` is a whole frame.
    func learn(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let ethernet = try? EthernetFrame(checking: bytes) else { return }
        let header = EthernetRepr.parse(ethernet)
        let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[header.headerLength...])
        if header.etherType == .arp {
            guard let packet = try? ARPPacket(checking: payload), let arp = try? ARPRepr.parse(packet),
                  arp.operation == .request, arp.targetProtocolAddress == Self.peerAddress else { return }
            pendingReplies.append(arp.senderProtocolAddress)
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
