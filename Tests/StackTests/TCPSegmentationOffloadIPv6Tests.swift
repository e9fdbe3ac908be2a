import NetDevice
import Packets
import Ports
@testable import Stack
import TCP
import Testing
import Wire

/// A port that offers checksum offload and TSO for IPv4 and IPv6 and does
/// what a device does with them, in software: cuts a TSO frame into
/// `segmentSize` pieces (payload length, sequence number, PSH/FIN on the
/// last only) and fills every requested checksum, then hands the pieces to
/// the loopback port behind it. It checks each IPv6 request as a device
/// would need it: the bare 40-byte header, TCP right behind it (no
/// hop-by-hop header), the payload length matching the frame.
final class SegmentingPort: NetDevice {
    let inner: any NetDevice
    let pool: PacketPool
    private(set) var largestFrameIn = 0
    private(set) var largestPieceOut = 0
    private(set) var segmentedFrames = 0
    private(set) var badRequests = 0

    /// Whether the port cuts TCP over IPv6 (else checksums only).
    let offersTSO6: Bool

    init(_ inner: any NetDevice, pool: PacketPool, offersTSO6: Bool = true) {
        self.inner = inner
        self.pool = pool
        self.offersTSO6 = offersTSO6
    }

    var info: DeviceInfo { inner.info }
    var macAddress: MACAddress { inner.macAddress }
    var transmitOffloadsInUse: OffloadFlags {
        offersTSO6 ? [.txIPv4, .txIPv6, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation, .txTCPSegmentationIPv6]
            : [.txIPv4, .txIPv6, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation]
    }
    func configure(_ configuration: PortConfiguration) throws(DeviceError) {}
    func start() throws(DeviceError) {}
    func stop() {}
    func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        inner.receive(queue: queue, into: packets)
    }

    func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        for packet in packets {
            let flags = packet.offloadFlags
            let frame = packet.contents()
            largestFrameIn = max(largestFrameIn, frame.count)
            packet.free()
            guard flags.contains(.txIPv6) else {
                // IPv4 and plain frames are not this test's subject: as they are
                // unless offloaded (the IPv6 stack's neighbour discovery).
                if flags.isDisjoint(with: .txL4Checksum) { forward(frame) } else { badRequests += 1 }
                continue
            }
            for piece in cut(frame, flags: flags, header: packet) { forward(piece) }
        }
        return packets.count
    }

    /// The pieces of an IPv6 frame with its checksum filled in; none (a
    /// counted bad request) when the request is not one a device could meet.
    private func cut(_ frame: [UInt8], flags: OffloadFlags, header packet: PacketBuffer) -> [[UInt8]] {
        let (l2, l3, l4) = (Int(packet.header.pointee.l2Length), Int(packet.header.pointee.l3Length),
                            Int(packet.header.pointee.l4Length))
        let payloadLength = Int(frame[18]) << 8 | Int(frame[19])
        guard l2 == 14, l3 == 40, frame[12] == 0x86, frame[13] == 0xDD,
              frame[20] == (flags.contains(.txTCPChecksum) ? 6 : 17), payloadLength == frame.count - 54 else {
            badRequests += 1
            return []
        }
        guard flags.contains(.txTCPSegmentation) else { return [withChecksum(frame)] }
        guard offersTSO6 else {
            badRequests += 1
            return []
        }
        segmentedFrames += 1
        let size = Int(packet.segmentSize)
        let headers = l2 + l3 + l4
        let sequence = UInt32(frame[58]) << 24 | UInt32(frame[59]) << 16 | UInt32(frame[60]) << 8 | UInt32(frame[61])
        var pieces: [[UInt8]] = []
        var offset = headers
        while offset < frame.count {
            let end = min(offset + size, frame.count)
            var piece = Array(frame[0..<headers]) + frame[offset..<end]
            let length = piece.count - 54
            piece[18] = UInt8(length >> 8)
            piece[19] = UInt8(length & 0xFF)
            let seq = sequence &+ UInt32(offset - headers)
            for i in 0..<4 { piece[58 + i] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * i)) }
            if end < frame.count { piece[l2 + l3 + 13] &= ~0x09 }  // PSH and FIN on the last piece only
            pieces.append(withChecksum(piece))
            offset = end
        }
        return pieces
    }

    private func withChecksum(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        let field = 54 + (frame[20] == 6 ? 16 : 6)
        frame[field] = 0
        frame[field + 1] = 0
        frame.withUnsafeMutableBytes { bytes in
            let ip = IPv6Packet(unchecked: UnsafeMutableRawBufferPointer(rebasing: bytes[14...]))
            let pseudo = InternetChecksum.pseudoHeaderSum(source: ip.source, destination: ip.destination,
                                                          nextHeader: ip.nextHeader, length: ip.payloadLength)
            var value = InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: bytes[54...]), initial: pseudo)
            if value == 0 && ip.nextHeader == .udp { value = 0xFFFF }
            bytes.storeBytes(of: value.bigEndian, toByteOffset: field, as: UInt16.self)
        }
        return frame
    }

    private func forward(_ frame: [UInt8]) {
        largestPieceOut = max(largestPieceOut, frame.count)
        guard let packet = pool.allocate() else { return }
        guard packet.setContents(frame) else {
            packet.free()
            return
        }
        var one = packet
        if withUnsafeMutablePointer(to: &one, { inner.transmit(queue: 0, UnsafeMutableBufferPointer(start: $0, count: 1)) }) == 0 {
            packet.free()
        }
    }

    func linkStatus() -> LinkStatus { inner.linkStatus() }
    func statistics() -> PortStatistics { inner.statistics() }
    func resetStatistics() {}
    func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    func setMACAddress(_ address: MACAddress) throws(DeviceError) {}
}

/// TCP and UDP over IPv6 through ports that offer checksum offload and
/// TSO6: segments up to the IPv6 payload limit leave as one frame, the
/// device's pieces fit the MTU with the MSS of IPv6 (MTU - 60), and the
/// bytes arrive whole.
@Suite("TCP over IPv6 with TSO6 and checksum offload")
struct TCPSegmentationOffloadIPv6Tests {
    static let a6 = IPv6Address("fd20::1")!
    static let b6 = IPv6Address("fd20::2")!

    final class Net {
        let ports: StartedPorts
        let a: NetStack
        let b: NetStack
        let portA: SegmentingPort
        let portB: SegmentingPort

        /// A's second port (its own loopback pair), when A has one.
        let otherPorts: StartedPorts?

        /// `mixed`: A's port to B does not cut TCP over IPv6, a second port
        /// of A (toward fd21::/64) does, so A's TCP builds TSO6 segments and
        /// the stack must cut those bound for B itself.
        init(mixed: Bool = false) throws {
            ports = try PortBringUp.startLoopbackPair(
                ringSize: 4096, pool: PoolRequest(name: "tso6-test", capacity: 4096, cacheSize: 0, policy: .anonymous))
            portA = SegmentingPort(ports[0].device, pool: ports.pool, offersTSO6: !mixed)
            portB = SegmentingPort(ports[1].device, pool: ports.pool)
            a = NetStack(pool: ports.pool)
            b = NetStack(pool: ports.pool)
            func v6(_ address: IPv6Address) -> IPv6Configuration {
                IPv6Configuration(addresses: [IPv6Network(address: address, prefixLength: 64)!], retransmitMilliseconds: 50)
            }
            try a.addInterface(device: portA, configuration: InterfaceConfiguration(
                address: IPv4Network("10.0.0.1/24")!, announceOnStart: false, ipv6: v6(a6)))
            try b.addInterface(device: portB, configuration: InterfaceConfiguration(
                address: IPv4Network("10.0.0.2/24")!, announceOnStart: false, ipv6: v6(b6)))
            if mixed {
                let other = try PortBringUp.startLoopbackPair(
                    ringSize: 256, pool: PoolRequest(name: "tso6-other", capacity: 512, cacheSize: 0, policy: .anonymous))
                try a.addInterface(device: SegmentingPort(other[0].device, pool: other.pool), configuration: InterfaceConfiguration(
                    address: IPv4Network("10.0.1.1/24")!, announceOnStart: false, ipv6: v6(IPv6Address("fd21::1")!)))
                otherPorts = other
            } else {
                otherPorts = nil
            }
            a.start()
            b.start()
        }

        func pump(seconds: Double = 5, until condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < deadline {
                a.poll()
                b.poll()
                if condition() { return true }
            }
            return condition()
        }
    }

    func ready(mixed: Bool = false) throws -> Net {
        let net = try Net(mixed: mixed)
        #expect(net.pump { net.a.ipv6Addresses(interface: 0).count == 2 && net.b.ipv6Addresses(interface: 0).count == 2 })
        return net
    }

    /// Sends `size` bytes A → B over a new IPv6 connection; the bytes B read and A's statistics.
    func send(_ net: Net, size: Int) throws -> (sent: [UInt8], received: [UInt8], TCPConnectionStatistics) {
        let listener = try net.b.tcpListen(address: Self.b6, port: 6101, backlog: 4, options: TCPStreamOptions(), v6Only: true)
        let (client, _) = try net.a.tcpConnect(from: Self.a6, port: nil, to: Self.b6, port: 6101, options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump {
            server = server ?? net.b.tcpAccept(listener)?.0
            return server != nil && net.a.tcpStatus(client)?.state.phase == .open
        })
        let serverID = try #require(server)
        #expect(net.a.tcpStatus(client)?.sendMSS == 1500 - 60 - 12)
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 11) }
        var sent = 0
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        #expect(net.pump(seconds: 30) {
            if sent < size, case .queued(let count) = data.withUnsafeBytes({
                net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: $0[sent..<min(sent + 262_144, size)]))
            }) { sent += count }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(serverID, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == size
        })
        return (data, received, try #require(net.a.tcpConnectionStatistics(client)))
    }

    @Test("a port without TSO6 beside one with it: the stack cuts the segments itself, every piece within the MTU")
    func softwareCutForAPortWithoutTSO6() throws {
        let net = try ready(mixed: true)
        #expect(net.a.tcp.configuration.segmentationOffloadLimitIPv6 > 0, "A's other port cuts TCP over IPv6: TCP builds TSO6 segments")
        let (data, received, statistics) = try send(net, size: 2 << 20)
        #expect(received == data)
        #expect(net.portA.segmentedFrames == 0 && net.portA.badRequests == 0, "no TSO6 request reached the port without it")
        #expect(net.portA.largestFrameIn == 14 + 1500, "the stack's pieces fill the MTU")
        #expect(statistics.retransmittedSegments == 0 && statistics.retransmissionTimeouts == 0)
        #expect(net.a.counters[.noBuffers] == 0)
    }

    @Test("4 MiB A to B: frames up to 64 KiB leave, pieces fit the MTU, MSS is MTU - 60 less timestamps, bytes equal")
    func transfer() throws {
        let net = try ready()
        let listener = try net.b.tcpListen(address: Self.b6, port: 6101, backlog: 4, options: TCPStreamOptions(), v6Only: true)
        let (client, _) = try net.a.tcpConnect(from: Self.a6, port: nil, to: Self.b6, port: 6101, options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump {
            server = server ?? net.b.tcpAccept(listener)?.0
            return server != nil && net.a.tcpStatus(client)?.state.phase == .open
        })
        let serverID = try #require(server)
        #expect(net.a.tcpStatus(client)?.sendMSS == 1500 - 60 - 12)
        let size = 4 << 20
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 11) }
        var sent = 0
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        #expect(net.pump(seconds: 30) {
            if sent < size, case .queued(let count) = data.withUnsafeBytes({
                net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: $0[sent..<min(sent + 262_144, size)]))
            }) { sent += count }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(serverID, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == size
        })
        #expect(received == data)
        #expect(net.portA.segmentedFrames > 0, "TCP handed the port TSO6 segments")
        #expect(net.portA.largestFrameIn > 30_000 && net.portA.largestFrameIn <= 14 + 40 + 65_535,
                "largest frame \(net.portA.largestFrameIn): above one MSS, within the IPv6 payload length")
        #expect(net.portA.largestPieceOut == 14 + 1500, "every piece fills the MTU exactly, never more")
        #expect(net.portA.badRequests == 0 && net.portB.badRequests == 0)
        #expect(net.b.counters.malformed(.tcp, .badChecksum) == 0)
        #expect(net.a.counters[.ipv6FragmentsSent] == 0, "no TSO6 segment was fragmented")
        let statistics = try #require(net.a.tcpConnectionStatistics(client))
        #expect(statistics.retransmittedSegments == 0)
    }

    @Test("UDP over IPv6 with checksum offload: whole datagrams offloaded, fragmented ones summed by the stack")
    func udpChecksums() throws {
        let net = try ready()
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        for size in [0, 1, 1452, 1453, 4000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
            try payload.withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (Self.b6, 7)) }
            var received: ReceivedDatagram?
            #expect(net.pump { received = try? net.b.udpReceive(server); return received != nil }, "size \(size)")
            #expect(received?.payload.contents() == payload)
            received?.payload.free()
        }
        #expect(net.portA.badRequests == 0)
        #expect(net.b.counters.malformed(.udp, .badChecksum) == 0)
        #expect(net.b.counters[.ipv6Reassembled] == 2, "1453 and 4000 bytes went in fragments")
    }
}
