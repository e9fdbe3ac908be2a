import Packets
import Stack
import Testing
import Wire

@Suite struct ReassemblyTests {
    /// A UDP datagram to port 7 split into fragments of `sizes` bytes each
    /// (as raw IPv4 payload slices), with its checksum filled.
    func udpDatagram(payload: Int, port: UInt16 = 7) -> [UInt8] {
        var datagram = [UInt8](repeating: 0, count: 8 + payload)
        for i in 0..<payload { datagram[8 + i] = UInt8(truncatingIfNeeded: i) }
        datagram.withUnsafeMutableBytes { bytes in
            UDPRepr(sourcePort: 1234, destinationPort: port, payloadLength: payload)
                .emit(into: UDPDatagram(unchecked: bytes), source: StackAndWire.peerAddress, destination: StackAndWire.stackAddress)
        }
        return datagram
    }

    func fragment(_ net: StackAndWire, _ datagram: [UInt8], offset: Int, length: Int, more: Bool, id: UInt16 = 42) -> [UInt8] {
        net.ipv4Frame(protocol: .udp, payload: Array(datagram[offset..<min(offset + length, datagram.count)]),
                      identification: id, moreFragments: more, fragmentOffset: offset)
    }

    @Test func outOfOrderFragmentsAreReassembled() throws {
        let net = try StackAndWire()
        let endpoint = try net.stack.udpBind(port: 7)
        let datagram = udpDatagram(payload: 3000)
        net.inject(fragment(net, datagram, offset: 1480, length: 1480, more: true))
        net.inject(fragment(net, datagram, offset: 2960, length: 1480, more: false))
        #expect(try net.stack.udpReceive(endpoint) == nil)
        net.inject(fragment(net, datagram, offset: 0, length: 1480, more: true))
        let got = try net.stack.udpReceive(endpoint)
        #expect(got?.payload.contents() == Array(datagram[8...]))
        #expect(got?.payload.segmentCount == 3)
        got?.payload.free()
        #expect(net.stack.counters[.ipv4Reassembled] == 1)
    }

    @Test func incompleteDatagramTimesOut() throws {
        var limits = StackLimits()
        limits.reassemblyTimeoutMilliseconds = 30
        let net = try StackAndWire(limits: limits)
        let datagram = udpDatagram(payload: 2000)
        net.inject(fragment(net, datagram, offset: 0, length: 1480, more: true))
        #expect(net.pool.statistics.available < net.pool.capacity)
        let deadline = ContinuousClock.now + .seconds(2)
        while net.stack.counters[.reassemblyTimeout] == 0 && ContinuousClock.now < deadline { net.stack.poll() }
        #expect(net.stack.counters[.reassemblyTimeout] == 1)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }

    @Test func overlappingFragmentsDropTheDatagram() throws {
        let net = try StackAndWire()
        let endpoint = try net.stack.udpBind(port: 7)
        let datagram = udpDatagram(payload: 3000)
        net.inject(fragment(net, datagram, offset: 0, length: 1480, more: true))
        // Teardrop: the second starts inside the first.
        net.inject(fragment(net, datagram, offset: 1472, length: 1536, more: false))
        #expect(net.stack.counters[.reassemblyOverlap] == 1)
        net.inject(fragment(net, datagram, offset: 1480, length: 1528, more: false))
        #expect(try net.stack.udpReceive(endpoint) == nil)
        #expect(net.stack.counters[.ipv4Reassembled] == 0)
    }

    @Test func duplicateFragmentIsDroppedAlone() throws {
        let net = try StackAndWire()
        let endpoint = try net.stack.udpBind(port: 7)
        let datagram = udpDatagram(payload: 2000)
        net.inject(fragment(net, datagram, offset: 0, length: 1480, more: true))
        net.inject(fragment(net, datagram, offset: 0, length: 1480, more: true))
        net.inject(fragment(net, datagram, offset: 1480, length: 1480, more: false))
        #expect(net.stack.counters[.reassemblyDuplicate] == 1)
        let got = try net.stack.udpReceive(endpoint)
        #expect(got?.length == 2000)
        got?.payload.free()
    }

    @Test func limitsOnDatagramsFragmentsAndMemory() throws {
        var limits = StackLimits()
        limits.reassemblyDatagrams = 2
        limits.reassemblyFragmentsPerDatagram = 4
        limits.reassemblyMemoryBytes = 8 * 2304
        let net = try StackAndWire(limits: limits)
        let datagram = udpDatagram(payload: 6000)
        // Endless small fragments of one datagram: the fifth is one too many.
        for i in 0..<5 { net.inject(fragment(net, datagram, offset: i * 16, length: 16, more: true, id: 1)) }
        #expect(net.stack.counters[.reassemblyTooManyFragments] == 1)
        // A third datagram in flight is refused.
        net.inject(fragment(net, datagram, offset: 0, length: 16, more: true, id: 2))
        net.inject(fragment(net, datagram, offset: 0, length: 16, more: true, id: 3))
        net.inject(fragment(net, datagram, offset: 0, length: 16, more: true, id: 4))
        #expect(net.stack.counters[.reassemblyTooManyDatagrams] == 1)
        let held = net.pool.capacity - net.pool.statistics.available
        #expect(held == 2)
        // Ending past the largest datagram: Wire refuses past 65,535 bytes,
        // the reassembler past 65,515 (65,535 less the header).
        net.inject(net.ipv4Frame(protocol: .udp, payload: [UInt8](repeating: 0, count: 16), identification: 6,
                                 moreFragments: true, fragmentOffset: 65_520))
        #expect(net.stack.counters.malformed(.ipv4, .badFragmentOffset) == 1)
        net.inject(net.ipv4Frame(protocol: .udp, payload: [UInt8](repeating: 0, count: 16), identification: 2,
                                 moreFragments: true, fragmentOffset: 65_504))
        #expect(net.stack.counters[.reassemblyTooLong] == 1)
    }

    @Test func memoryLimitDropsTheDatagram() throws {
        var limits = StackLimits()
        limits.reassemblyMemoryBytes = 3 * 2304
        let net = try StackAndWire(limits: limits)
        let datagram = udpDatagram(payload: 6000)
        for i in 0..<4 { net.inject(fragment(net, datagram, offset: i * 1480, length: 1480, more: true)) }
        #expect(net.stack.counters[.reassemblyMemoryLimit] == 1)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }

    @Test func fragmentBeyondTheLastIsRejected() throws {
        let net = try StackAndWire()
        let datagram = udpDatagram(payload: 3000)
        // The last fragment says the datagram ends at 1,008; one past it is bad.
        net.inject(fragment(net, datagram, offset: 1000, length: 8, more: false, id: 9))
        net.inject(fragment(net, datagram, offset: 2000, length: 8, more: true, id: 9))
        #expect(net.stack.counters[.reassemblyBadFragment] == 1)
        // Not a multiple of 8 with more fragments to come.
        net.inject(fragment(net, datagram, offset: 0, length: 13, more: true, id: 10))
        #expect(net.stack.counters[.reassemblyBadFragment] == 2)
        #expect(net.pool.statistics.available == net.pool.capacity)
    }
}

@Suite struct UDPChecksumTests {
    @Test func zeroChecksumIsAcceptedAndABadOneCounted() throws {
        let net = try StackAndWire()
        let endpoint = try net.stack.udpBind(port: 7)
        var datagram = [UInt8](repeating: 0x61, count: 8 + 5)
        datagram.withUnsafeMutableBytes { bytes in
            UDPRepr(sourcePort: 9, destinationPort: 7, payloadLength: 5)
                .emit(into: UDPDatagram(unchecked: bytes), source: StackAndWire.peerAddress,
                      destination: StackAndWire.stackAddress, checksum: .omit)
        }
        net.inject(net.ipv4Frame(protocol: .udp, payload: datagram))
        let got = try net.stack.udpReceive(endpoint)
        #expect(got?.payload.contents() == [0x61, 0x61, 0x61, 0x61, 0x61])
        got?.payload.free()
        datagram[6] = 0x12
        datagram[7] = 0x34
        net.inject(net.ipv4Frame(protocol: .udp, payload: datagram))
        #expect(try net.stack.udpReceive(endpoint) == nil)
        #expect(net.stack.counters.malformed(.udp, .badChecksum) == 1)
    }

    @Test func sentDatagramsCarryAValidChecksum() throws {
        let net = try StackAndWire()
        net.introducePeer()
        let endpoint = try net.stack.udpBind(port: 7)
        try [UInt8](repeating: 0x5a, count: 33).withUnsafeBytes {
            try net.stack.udpSend(endpoint, bytes: $0, to: (StackAndWire.peerAddress, 1234))
        }
        let frames = net.sent()
        #expect(frames.count == 1)
        guard var frame = frames.first else { return }
        let valid = frame.withUnsafeMutableBytes { bytes -> Bool in
            let udp = UDPDatagram(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[34...]))
            return udp.checksum != 0 && udp.isChecksumValid(source: StackAndWire.stackAddress, destination: StackAndWire.peerAddress)
                && udp.length == 41 && udp.destinationPort == 1234
        }
        #expect(valid)
    }
}
