import Packets
import Wire

extension NetStack {
    /// The largest UDP payload: 65,535 less the IPv4 and UDP headers.
    public static let maximumUDPPayload = 65_507

    // MARK: Receive

    func handleUDP(_ packet: PacketBuffer, _ delivery: IPv4Delivery) {
        tally[.udpReceived] += 1
        // The header is in the first segment (a first fragment holds at
        // least 8 bytes); the datagram may span a chain.
        guard packet.length >= UDPDatagram.headerLength else {
            tally.countMalformed(.udp, .truncated)
            packet.free()
            return
        }
        let header = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: packet.data, count: UDPDatagram.headerLength))
        // A reassembled datagram was steered by its addresses (fragments carry no ports).
        if let steering = flowSteering, packet.isContiguous {
            countIfOnWrongCore(steering, packet, delivery, sourcePort: header.sourcePort, destinationPort: header.destinationPort)
        }
        let length = header.length
        guard length >= UDPDatagram.headerLength else {
            tally.countMalformed(.udp, .badLength)
            packet.free()
            return
        }
        guard length <= packet.packetLength else {
            tally.countMalformed(.udp, .truncated)
            packet.free()
            return
        }
        if length < packet.packetLength {
            // Bytes after the UDP length are not part of the datagram.
            guard trim(packet, to: length) else {
                tally.countMalformed(.udp, .badLength)
                packet.free()
                return
            }
        }
        // A zero checksum means none was computed (RFC 768); a device's
        // check (or virtio's NEEDS_CSUM: a local sender's) is trusted.
        if header.checksum != 0 && packet.offloadFlags.isDisjoint(with: [.rxL4ChecksumGood, .rxL4ChecksumNone]) {
            let pseudo = InternetChecksum.pseudoHeaderSum(source: delivery.source, destination: delivery.destination,
                                                          protocol: .udp, length: length)
            guard InternetChecksum.sum(packet: packet, initial: pseudo) == 0xFFFF else {
                tally.countMalformed(.udp, .badChecksum)
                packet.free()
                return
            }
        }
        let sourcePort = header.sourcePort
        let destinationPort = header.destinationPort
        guard let i = udp.find(destination: delivery.isBroadcast ? .any : delivery.destination,
                               destinationPort: destinationPort, source: delivery.source, sourcePort: sourcePort)
        else {
            if delivery.isBroadcast {
                tally[.udpBroadcastUnmatched] += 1
            } else {
                tally[.udpClosedPort] += 1
                sendUnreachable(.port, about: packet, delivery)
            }
            packet.free()
            return
        }
        packet.removeFirst(UDPDatagram.headerLength)
        packet.userData = UInt64(delivery.source.value) << 32 | UInt64(sourcePort) << 16
        guard udp.enqueue(i, packet) else {
            tally[.udpReceiveQueueFull] += 1
            packet.free()
            return
        }
        tally[.udpDelivered] += 1
    }

    /// Shortens a chain to `length` bytes (freeing whole segments past it);
    /// false when the chain cannot be cut there.
    func trim(_ packet: PacketBuffer, to length: Int) -> Bool {
        var excess = packet.packetLength - length
        while excess > 0 {
            var last = packet
            var beforeLast: PacketBuffer?
            while let next = last.nextSegment {
                beforeLast = last
                last = next
            }
            if last.length > excess || beforeLast == nil {
                return packet.removeLast(excess)
            }
            // Drop the whole last segment.
            excess -= last.length
            packet.header.pointee.packetLength -= UInt32(last.length)
            packet.header.pointee.segmentCount -= 1
            beforeLast!.header.pointee.next = nil
            last.header.pointee.packetLength = UInt32(last.length)
            last.header.pointee.segmentCount = 1
            last.free()
        }
        return true
    }

    // MARK: Endpoint API (what the socket layer calls)

    /// Opens an endpoint bound to `address` (.any for every interface) and
    /// `port` (0 picks an ephemeral port). The wildcard takes IPv6
    /// datagrams too unless `ipv4Only` (an AF_INET socket's binding).
    /// `shared` (SO_REUSEADDR/SO_REUSEPORT): other shared endpoints of the
    /// core may hold the same address and port.
    public func udpBind(address: IPv4Address = .any, port: UInt16, ipv4Only: Bool = false, shared: Bool = false) throws(StackError) -> UDPEndpoint {
        if !address.isUnspecified && !isLocal(address) {
            throw StackError(.addressNotAvailable, "\(address) is not an address of this stack: bind to one of \(interfaces.map { $0.address.description }) or 0.0.0.0")
        }
        let wide = address.isUnspecified && !ipv4Only ? IPv6Address.unspecified : IPv6Address(ipv4Mapped: address)
        return try udp.bind(address: wide, port: port, shared: shared)
    }

    /// Restricts the endpoint to one peer: only its datagrams are received
    /// and `udpSend(to: nil)` goes there. `.any` disconnects.
    public func udpConnect(_ endpoint: UDPEndpoint, to address: IPv4Address, port: UInt16) throws(StackError) {
        let i = try udp.entryIndex(endpoint)
        if address.isUnspecified {
            udp.connect(i, remote: .unspecified, port: 0, local: udp.key(of: i).localAddress)
            return
        }
        guard port != 0 else { throw StackError(.invalidConfiguration, "cannot connect to port 0") }
        let bound = try ipv4View(i)
        guard let route = route(to: address, from: bound) else {
            throw StackError(.networkUnreachable, "no route to \(address): add an interface on its subnet or a gateway")
        }
        udp.connect(i, remote: IPv6Address(ipv4Mapped: address), port: port, local: IPv6Address(ipv4Mapped: route.source))
    }

    /// The IPv4 address an endpoint is bound to (.any for a wildcard);
    /// ENETUNREACH for one that takes no IPv4 (bound to an IPv6 address
    /// or v6-only).
    func ipv4View(_ i: Int) throws(StackError) -> IPv4Address {
        let local = udp.key(of: i).localAddress
        if let v4 = local.ipv4Mapped { return v4 }
        guard local.isUnspecified, !udp.entries[i].v6Only else {
            throw StackError(.networkUnreachable, "the endpoint is bound to IPv6 \(local.isUnspecified ? "only" : "\(local)"): it cannot reach IPv4 peers")
        }
        return .any
    }

    /// The local address and port, and the peer when connected (IPv4
    /// views: .any where the endpoint's address is IPv6).
    public func udpAddresses(_ endpoint: UDPEndpoint) throws(StackError)
        -> (localAddress: IPv4Address, localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16) {
        let key = udp.key(of: try udp.entryIndex(endpoint))
        return (key.localAddress.ipv4Mapped ?? .any, key.localPort, key.remoteAddress.ipv4Mapped ?? .any, key.remotePort)
    }

    /// Closes the endpoint and frees what it had queued.
    public func udpClose(_ endpoint: UDPEndpoint) {
        guard let i = try? udp.entryIndex(endpoint) else { return }
        udp.close(i)
    }

    /// The next received datagram, or nil.
    public func udpReceive(_ endpoint: UDPEndpoint) throws(StackError) -> ReceivedDatagram? {
        let i = try udp.entryIndex(endpoint)
        guard let packet = udp.dequeue(i) else { return nil }
        let tag = packet.userData
        let ipv6 = Self.ipv6Source(packet)
        return ReceivedDatagram(payload: packet, source: ipv6 == nil ? IPv4Address(UInt32(truncatingIfNeeded: tag >> 32)) : .any,
                                sourcePort: UInt16(truncatingIfNeeded: tag >> 16), sourceIPv6: ipv6,
                                scopeID: ipv6 == nil ? 0 : UInt32(truncatingIfNeeded: tag >> 32))
    }

    /// Takes the error an ICMP message left on the endpoint (once).
    public func udpTakeError(_ endpoint: UDPEndpoint) throws(StackError) -> StackError? {
        let i = try udp.entryIndex(endpoint)
        guard let kind = udp.takeError(i) else { return nil }
        let key = udp.key(of: i)
        switch kind {
        case .connectionRefused:
            return StackError(kind, "\(key.remoteAddress.isUnspecified ? "the peer" : "\(key.remoteAddress):\(key.remotePort)") answered port unreachable: nothing listens there")
        case .hostUnreachable:
            return StackError(kind, "\(key.remoteAddress) did not answer ARP, or an ICMP host unreachable arrived: no route to host")
        default:
            return StackError(kind, "an ICMP destination unreachable arrived for a datagram of this endpoint")
        }
    }

    /// How many datagrams the endpoint has queued since it was bound: a
    /// change means new data (edge-triggered epoll reports it again).
    public func udpArrivals(_ endpoint: UDPEndpoint) -> UInt64 {
        guard let i = try? udp.entryIndex(endpoint) else { return 0 }
        return udp.arrivals(i)
    }

    public func udpReadiness(_ endpoint: UDPEndpoint) -> Readiness {
        guard let i = try? udp.entryIndex(endpoint) else { return [.error] }
        var result: Readiness = []
        if udp.queued(i) > 0 { result.insert(.readable) }
        if udp.hasError(i) { result.insert(.error) }
        if pool.statistics.available > 0 { result.insert(.writable) }
        return result
    }

    /// Sends `payload` (the datagram's data, possibly a chain; the stack
    /// prepends the headers into its headroom) to `destination`, or to the
    /// connected peer when nil. Takes the buffer in every case, also when
    /// it throws.
    public func udpSend(_ endpoint: UDPEndpoint, _ payload: PacketBuffer,
                        to destination: (address: IPv4Address, port: UInt16)? = nil,
                        timeToLive: UInt8 = 64, typeOfService: UInt8 = 0) throws(StackError) {
        let i: Int
        do { i = try udp.entryIndex(endpoint) } catch {
            payload.free()
            throw error
        }
        let key = udp.key(of: i)
        let bound: IPv4Address
        do { bound = try ipv4View(i) } catch {
            payload.free()
            throw error
        }
        let address = destination?.address ?? key.remoteAddress.ipv4Mapped ?? .any
        let port = destination?.port ?? key.remotePort
        guard !address.isUnspecified, port != 0 else {
            payload.free()
            throw StackError(.notConnected, "\(endpoint) is not connected (to an IPv4 peer): give a destination or connect first")
        }
        guard payload.packetLength <= Self.maximumUDPPayload else {
            let length = payload.packetLength
            payload.free()
            throw StackError(.messageTooLong, "UDP payload of \(length) bytes: at most \(Self.maximumUDPPayload)")
        }
        guard let route = route(to: address, from: bound) else {
            payload.free()
            tally[.ipv4NoRoute] += 1
            throw StackError(.networkUnreachable, "no route to \(address): add an interface on its subnet or a gateway")
        }
        guard let start = payload.prepend(UDPDatagram.headerLength) else {
            payload.free()
            throw StackError(.noBuffers, "no headroom for the UDP header: allocate payload buffers from a pool with headroom")
        }
        let length = payload.packetLength
        let header = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(start: start, count: UDPDatagram.headerLength))
        // Field by field: UDPRepr.emit wants the whole datagram in one
        // buffer, and this one may be a chain.
        header.sourcePort = key.localPort
        header.destinationPort = port
        header.length = length
        header.checksum = 0
        if route.interface.transmitOffloads.contains(.txUDPChecksum) && IPv4Packet.minimumHeaderLength + length <= route.interface.mtu {
            // The device sums the datagram (the driver seeds the field);
            // fragments could not be offloaded, so only whole datagrams.
            payload.offloadFlags = [.txIPv4, .txUDPChecksum]
            payload.setHeaderLengths(l2: EthernetFrame.headerLength, l3: IPv4Packet.minimumHeaderLength, l4: UDPDatagram.headerLength)
        } else {
            // The checksum covers the whole chain, so it is summed here.
            let pseudo = InternetChecksum.pseudoHeaderSum(source: route.source, destination: address, protocol: .udp, length: length)
            let checksum = InternetChecksum.finish(InternetChecksum.sum(packet: payload, initial: pseudo))
            header.checksum = checksum == 0 ? 0xFFFF : checksum
        }
        tally[.udpSent] += 1
        sendIPv4(payload, protocol: .udp, to: address, route: route, timeToLive: timeToLive, typeOfService: typeOfService)
    }

    /// Sends a copy of `bytes`; buffers come from the stack's pool (a chain
    /// when they do not fit one).
    public func udpSend(_ endpoint: UDPEndpoint, bytes: UnsafeRawBufferPointer,
                        to destination: (address: IPv4Address, port: UInt16)? = nil,
                        timeToLive: UInt8 = 64, typeOfService: UInt8 = 0) throws(StackError) {
        guard bytes.count <= Self.maximumUDPPayload else {
            throw StackError(.messageTooLong, "UDP payload of \(bytes.count) bytes: at most \(Self.maximumUDPPayload)")
        }
        guard let head = copyIntoBuffers(bytes) else {
            tally[.noBuffers] += 1
            throw StackError(.noBuffers, "the packet pool '\(pool.name)' is exhausted: free received datagrams or make a larger pool")
        }
        try udpSend(endpoint, head, to: destination, timeToLive: timeToLive, typeOfService: typeOfService)
    }

    /// Copies `bytes` into a chain of pool buffers; nil when the pool runs out.
    func copyIntoBuffers(_ bytes: UnsafeRawBufferPointer) -> PacketBuffer? {
        var head: PacketBuffer?
        var offset = 0
        repeat {
            guard let segment = pool.allocate() else {
                head?.free()
                return nil
            }
            let size = min(segment.tailroom, bytes.count - offset)
            if size > 0, let destination = segment.append(size) {
                destination.copyMemory(from: bytes.baseAddress! + offset, byteCount: size)
            }
            offset += size
            if let head {
                guard head.chain(segment) else {
                    segment.free()
                    head.free()
                    return nil
                }
            } else {
                head = segment
            }
        } while offset < bytes.count
        return head
    }
}
