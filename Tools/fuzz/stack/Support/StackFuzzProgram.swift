import Wire

/// What a fuzz target draws its steps from: each opcode byte picks one
/// kind, by weight (the TCP target leans on segments and socket calls).
public struct StackFuzzMix: Sendable {
    public enum Operation: Sendable, CaseIterable {
        case rawFrame, arp, tcpSegment, udpDatagram, fragment, icmp, clockStep, socketCall
    }
    let table: [Operation]

    public init(_ weights: [(Operation, Int)]) {
        table = weights.flatMap { Array(repeating: $0.0, count: $0.1) }
    }

    /// Every layer alike.
    public static let whole = StackFuzzMix([(.rawFrame, 2), (.arp, 2), (.tcpSegment, 3), (.udpDatagram, 2),
                                            (.fragment, 3), (.icmp, 2), (.clockStep, 2), (.socketCall, 4)])
    /// TCP connections through the sockets: segments in the window and calls.
    public static let tcp = StackFuzzMix([(.tcpSegment, 6), (.clockStep, 2), (.socketCall, 6), (.arp, 1)])
}

extension StackFuzzWorld {
    /// Runs the program in `input`: one step per operation, at most 96,
    /// then `finish` (everything closed and expired, every buffer back).
    public func run(_ input: inout FuzzBytes, mix: StackFuzzMix) {
        var steps = 0
        while !input.exhausted && steps < 96 {
            steps += 1
            let operation = mix.table[Int(input.u8()) % mix.table.count]
            switch operation {
            case .rawFrame: inject(raw: input.bytes(Int(input.u8()) * 6))
            case .arp: arp(&input)
            case .tcpSegment: tcpSegment(&input)
            case .udpDatagram: udpDatagram(&input)
            case .fragment: fragment(&input)
            case .icmp: icmp(&input)
            case .clockStep: clockStep(&input)
            case .socketCall: socketCall(&input)
            }
            step()
            if Self.tracing { trace("step \(steps) \(operation)") }
        }
        finish()
    }

    private func arp(_ input: inout FuzzBytes) {
        let choice = input.u8()
        let host = Self.host(choice >> 1)
        let mac = MACAddress(0x02, 0, 0, 0x79, 1, input.u8())
        let target = choice & 0x80 != 0 ? Self.host(input.u8()) : Self.stackAddress
        inject(Self.arpFrame(choice & 1 == 0 ? .request : .reply, sender: host, senderMAC: mac,
                             target: target, broadcast: choice & 0x40 != 0))
    }

    private func tcpSegment(_ input: inout FuzzBytes) {
        let choice = input.u8()
        var flags = TCPFlags(rawValue: input.u8())
        var flow: TCPFlow
        if choice & 0x80 == 0, !flows.isEmpty {
            flow = flows[Int(choice) % flows.count]
        } else {
            // A new conversation toward a well-known port: mostly a plain SYN.
            let stackPort = Self.ports[Int(choice) % Self.ports.count]
            flow = TCPFlow(peer: Self.host(choice >> 5 & 1), peerPort: 40_000 &+ UInt16(choice & 7),
                           stackPort: stackPort, stackNext: 0, peerNext: input.u32())
            if choice & 0x40 == 0 { flags = .syn }
        }
        let mode = input.u8()
        // Mostly exact numbers; sometimes off by a little or a lot.
        let sequence = flow.peerNext &+ (mode & 3 == 0 ? UInt32(bitPattern: Int32(Int8(bitPattern: input.u8()))) &* 97 : 0)
        let acknowledgment = mode & 0x0C == 0 ? input.u32() : flow.stackNext &- UInt32(mode >> 4 & 3) * 500
        var options = TCPOptions()
        if mode & 0x40 != 0 {
            let bits = input.u8()
            if bits & 1 != 0 { options.maximumSegmentSize = input.u16() }
            if bits & 2 != 0 { options.windowScale = input.u8() & 0x0F }
            if bits & 4 != 0 { options.sackPermitted = true }
            if bits & 8 != 0 { options.timestamp = (input.u32(), input.u32()) }
            if bits & 16 != 0 {
                let left = flow.stackNext &- UInt32(input.u16())
                options.sackBlocks = TCPSACKBlocks([TCPSACKBlock(left: left, right: left &+ UInt32(input.u16()))])
            }
        }
        let payloadLength = flags.contains(.syn) ? 0 : Int(input.u8()) * (mode & 0x80 != 0 ? 11 : 1)
        let tcp = TCPRepr(sourcePort: flow.peerPort, destinationPort: flow.stackPort, sequenceNumber: sequence,
                          acknowledgmentNumber: flags.contains(.ack) ? acknowledgment : 0, flags: flags,
                          window: input.u16() | (mode & 0x20 != 0 ? 0 : 0x4000), urgentPointer: 0, options: options)
        let segment = Self.tcpSegment(tcp, payload: input.payload(payloadLength), from: flow.peer)
        inject(Self.ipv4Frame(from: flow.peer, protocol: .tcp, payloadLength: segment))
    }

    private func udpDatagram(_ input: inout FuzzBytes) {
        let choice = input.u8()
        let destination = Self.ports[Int(choice) % Self.ports.count]
        let source: UInt16 = choice & 0x08 != 0 ? input.u16() : 5000
        let checksum: TransportChecksum = choice & 0x30 == 0x30 ? .omit : .compute
        let datagram = Self.udpDatagram(sourcePort: source, destinationPort: destination,
                                        payload: input.payload(Int(input.u16() % 1600)),
                                        from: Self.host(choice >> 6), checksum: checksum)
        if choice & 0x30 == 0x10 { Self.frame[Self.ipPayload + 6] ^= 0x55 }  // a wrong checksum
        let to = choice & 0x04 != 0 ? IPv4Address(10, 121, 0, 255) : Self.stackAddress
        inject(Self.ipv4Frame(from: Self.host(choice >> 6), to: to, protocol: .udp, payloadLength: datagram,
                              destinationMAC: choice & 0x04 != 0 ? .broadcast : Self.stackMAC))
    }

    /// An IPv4 fragment of one of four datagrams: offset, length and the
    /// more-fragments bit from the input (overlaps, holes, too long, all).
    private func fragment(_ input: inout FuzzBytes) {
        let choice = input.u8()
        let offset = Int(input.u8()) * 8 * (choice & 0x40 != 0 ? 32 : 1)
        let length = (Int(input.u8() % 184) + 1) * 8
        let payload = input.payload(length)
        Self.place(payload, at: Self.ipPayload)
        if offset == 0 && choice & 0x20 != 0 && payload.count >= 8 {
            // A UDP header opening the datagram, so complete ones reach a socket.
            let total = UInt16(truncatingIfNeeded: Int(input.u8()) * 8 + 8)
            let header = UnsafeMutableRawBufferPointer(rebasing: Self.frame[Self.ipPayload..<(Self.ipPayload + 8)])
            header.storeBytes(of: UInt16(5000).bigEndian, toByteOffset: 0, as: UInt16.self)
            header.storeBytes(of: UInt16(53).bigEndian, toByteOffset: 2, as: UInt16.self)
            header.storeBytes(of: total.bigEndian, toByteOffset: 4, as: UInt16.self)
            header.storeBytes(of: 0, toByteOffset: 6, as: UInt16.self)
        }
        let number: IPProtocol = choice & 0x10 != 0 ? .icmp : .udp
        inject(Self.ipv4Frame(from: Self.host(choice >> 7), protocol: number, payloadLength: payload.count,
                              identification: UInt16(choice & 3), moreFragments: choice & 0x04 != 0,
                              fragmentOffset: min(offset, 65_528)))
    }

    private func icmp(_ input: inout FuzzBytes) {
        let choice = input.u8()
        let bodyLength: Int
        let body = Self.ipPayload + 8
        var type = choice & 0x80 != 0 ? UInt8(8) : input.u8() % 20
        let code = input.u8() % 6
        if choice & 0x40 != 0, let flow = flows.isEmpty ? nil : flows[Int(choice) % flows.count] {
            // An error quoting one of the stack's own segments (RFC 792: header + 8 bytes).
            type = choice & 0x20 != 0 ? 3 : 11
            let quote = UnsafeMutableRawBufferPointer(rebasing: Self.frame[body..<(body + 28)])
            IPv4Repr(source: Self.stackAddress, destination: flow.peer, protocol: .tcp, payloadLength: 8,
                     timeToLive: 64, identification: 0, moreFragments: false, fragmentOffset: 0)
                .emit(into: IPv4Packet(unchecked: quote))
            quote.storeBytes(of: flow.stackPort.bigEndian, toByteOffset: 20, as: UInt16.self)
            quote.storeBytes(of: flow.peerPort.bigEndian, toByteOffset: 22, as: UInt16.self)
            quote.storeBytes(of: (flow.stackNext &- 1).bigEndian, toByteOffset: 24, as: UInt32.self)
            bodyLength = 28
        } else {
            let payload = input.payload(Int(input.u8()))
            Self.place(payload, at: body)
            bodyLength = payload.count
        }
        let message = Self.icmpMessage(type: type, code: code, rest: input.u32(), bodyLength: bodyLength)
        inject(Self.ipv4Frame(from: Self.host(choice & 1), protocol: .icmp, payloadLength: message,
                              ttl: choice & 0x02 != 0 ? 1 : 64))
    }

    private func clockStep(_ input: inout FuzzBytes) {
        let amount = UInt64(input.u8())
        let scale: UInt64
        // Milliseconds, tens of ms, seconds, minutes: timers of every size.
        switch input.u8() & 3 {
        case 0: scale = 1
        case 1: scale = 10
        case 2: scale = 1_000
        default: scale = 60_000
        }
        advanceClock(milliseconds: amount * scale)
    }
}
