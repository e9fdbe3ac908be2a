import NetDevice
import Packets
import Ports
import Stack
import TCP
import Testing
import Wire

/// A port whose transmit ring holds `descriptors` buffers and drains
/// `drainedPerCall` of them between transmit calls, as a NIC's ring fills
/// behind a slow device; it offers checksum offload and TSO and hands the
/// frames on unsegmented (flagged as a virtio GUEST_TSO4 receiver sees them).
final class NarrowRingPort: NetDevice {
    let inner: any NetDevice
    let descriptors: Int
    let drainedPerCall: Int
    /// Refuses everything while true (a stalled device).
    var stalled = false
    private(set) var inFlight = 0
    private(set) var refusedCalls = 0
    private(set) var largestFrame = 0

    init(_ inner: any NetDevice, descriptors: Int, drainedPerCall: Int) {
        self.inner = inner
        self.descriptors = descriptors
        self.drainedPerCall = drainedPerCall
    }

    var info: DeviceInfo { inner.info }
    var macAddress: MACAddress { inner.macAddress }
    var transmitOffloadsInUse: OffloadFlags { [.txIPv4, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation] }
    func configure(_ configuration: PortConfiguration) throws(DeviceError) {}
    func start() throws(DeviceError) {}
    func stop() {}
    func receive(queue: Int, into packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        inner.receive(queue: queue, into: packets)
    }

    func transmit(queue: Int, _ packets: UnsafeMutableBufferPointer<PacketBuffer>) -> Int {
        inFlight = max(inFlight - drainedPerCall, 0)
        guard !stalled else {
            refusedCalls += packets.isEmpty ? 0 : 1
            return 0
        }
        var taken = 0
        while taken < packets.count, inFlight + packets[taken].segmentCount <= descriptors {
            let packet = packets[taken]
            inFlight += packet.segmentCount
            largestFrame = max(largestFrame, packet.packetLength)
            // What the receiving side of a checksum/TSO offload sees.
            var flags: OffloadFlags = []
            if packet.offloadFlags.contains(.txTCPSegmentation) { flags.insert(.rxTCPCoalesced) }
            if !packet.offloadFlags.isDisjoint(with: .txL4Checksum) { flags.insert(.rxL4ChecksumNone) }
            packet.offloadFlags = flags
            taken += 1
        }
        if taken < packets.count { refusedCalls += 1 }
        let sent = inner.transmit(queue: queue, UnsafeMutableBufferPointer(rebasing: packets[0..<taken]))
        precondition(sent == taken, "the loopback ring behind the narrow one is large enough")
        return taken
    }

    func linkStatus() -> LinkStatus { inner.linkStatus() }
    func statistics() -> PortStatistics { inner.statistics() }
    func resetStatistics() {}
    func setPromiscuous(_ enabled: Bool) throws(DeviceError) {}
    func setAllMulticast(_ enabled: Bool) throws(DeviceError) {}
    func setMACAddress(_ address: MACAddress) throws(DeviceError) {}
}

/// Frames a full transmit ring refuses are kept for the next poll step
/// (StackLimits.transmitBacklog), not dropped: a refused 64 KiB TSO
/// segment must not cost TCP a retransmission timeout.
@Suite("Transmit backlog (a full device ring)")
struct TransmitBacklogTests {
    static let addressA = IPv4Address(10, 0, 0, 1)
    static let addressB = IPv4Address(10, 0, 0, 2)

    struct Net {
        let ports: StartedPorts
        let a: NetStack
        let b: NetStack
        let narrow: NarrowRingPort
    }

    static func makeNet(descriptors: Int, drainedPerCall: Int, limits: StackLimits = StackLimits()) throws -> Net {
        let ports = try PortBringUp.startLoopbackPair(
            ringSize: 4096, pool: PoolRequest(name: "backlog-test", capacity: 4096, cacheSize: 0, policy: .anonymous))
        let narrow = NarrowRingPort(ports[0].device, descriptors: descriptors, drainedPerCall: drainedPerCall)
        let wide = NarrowRingPort(ports[1].device, descriptors: 1 << 20, drainedPerCall: 1 << 20)
        let a = NetStack(pool: ports.pool, limits: limits)
        let b = NetStack(pool: ports.pool, limits: limits)
        try a.addInterface(device: narrow, configuration: InterfaceConfiguration(
            address: IPv4Network(address: addressA, prefixLength: 24)!, announceOnStart: false))
        try b.addInterface(device: wide, configuration: InterfaceConfiguration(
            address: IPv4Network(address: addressB, prefixLength: 24)!, announceOnStart: false))
        a.start()
        b.start()
        return Net(ports: ports, a: a, b: b, narrow: narrow)
    }

    static func pump(_ net: Net, seconds: Double, until condition: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            net.a.poll()
            net.b.poll()
            if condition() { return true }
        }
        return condition()
    }

    /// Sends `size` bytes A → B over a new connection; the sender's counters.
    static func transfer(_ net: Net, size: Int) throws -> TCPConnectionStatistics {
        let listener = try net.b.tcpListen(address: .any, port: 5001, backlog: 4, options: TCPStreamOptions())
        let (client, _) = try net.a.tcpConnect(from: addressA, port: nil, to: addressB, port: 5001,
                                               options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(pump(net, seconds: 5) {
            server = server ?? net.b.tcpAccept(listener)?.0
            return server != nil && net.a.tcpStatus(client)?.state.phase == .open
        })
        let serverID = try #require(server)
        var data = [UInt8](repeating: 0, count: size)
        for i in 0..<size { data[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 11) }
        var sent = 0
        var received = [UInt8]()
        received.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let done = pump(net, seconds: 30) {
            if sent < size {
                let result = data.withUnsafeBytes { all in
                    net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: all[sent..<min(sent + 262_144, size)]))
                }
                if case .queued(let count) = result { sent += count }
            }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(serverID, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
            return received.count == size
        }
        #expect(done, "received \(received.count) of \(size)")
        #expect(received == data)
        return try #require(net.a.tcpConnectionStatistics(client))
    }

    @Test("a TSO transfer through a ring that holds one 64 KiB segment: every byte, no retransmission, no timeout")
    func tsoThroughFullRing() throws {
        // 40 descriptors: one TSO segment (33 buffers) at a time, drained
        // between transmit calls, so most of TCP's bursts find it full.
        let net = try Self.makeNet(descriptors: 40, drainedPerCall: 40)
        let statistics = try Self.transfer(net, size: 8 << 20)
        #expect(net.narrow.largestFrame > 30_000, "TCP sent TSO segments (largest frame \(net.narrow.largestFrame) bytes)")
        #expect(net.narrow.refusedCalls > 0, "the ring was full for some bursts")
        #expect(net.a.counters[.transmitDeferred] > 0, "refused frames were kept")
        #expect(net.a.counters[.transmitQueueFull] == 0, "and none dropped")
        #expect(statistics.retransmissionTimeouts == 0)
        #expect(statistics.retransmittedSegments == 0)
        #expect(net.a.counters[.noBuffers] == 0)
    }

    @Test("without a backlog (transmitBacklog 0) the same ring drops TSO segments and TCP must retransmit")
    func noBacklogLoses() throws {
        var limits = StackLimits()
        limits.transmitBacklog = 0
        let net = try Self.makeNet(descriptors: 40, drainedPerCall: 40, limits: limits)
        let statistics = try Self.transfer(net, size: 8 << 20)
        #expect(net.narrow.refusedCalls > 0)
        #expect(net.a.counters[.transmitQueueFull] > 0)
        #expect(net.a.counters[.transmitDeferred] == 0)
        #expect(statistics.retransmittedSegments > 0, "\(statistics.named)")
    }

    @Test("a stalled ring: frames wait in order up to the backlog's bound, the rest are counted drops; all held go when it moves")
    func boundedAndOrdered() throws {
        var limits = StackLimits()
        limits.burstSize = 4
        limits.transmitBacklog = 6
        let net = try Self.makeNet(descriptors: 1 << 20, drainedPerCall: 1 << 20, limits: limits)
        let receiver = try net.b.udpBind(port: 7000)
        let sender = try net.a.udpBind(port: 7001)
        // Learn each other's MAC first (ARP through the moving ring).
        var payload: UInt8 = 0
        try withUnsafeBytes(of: &payload) { try net.a.udpSend(sender, bytes: $0, to: (Self.addressB, 7000)) }
        #expect(Self.pump(net, seconds: 2) { net.b.udpArrivals(receiver) == 1 })
        _ = try net.b.udpReceive(receiver).map { $0.payload.free() }
        let inUse = net.ports.pool.statistics.inUse

        net.narrow.stalled = true
        for value in UInt8(1)...20 {
            var byte = value
            try withUnsafeBytes(of: &byte) { try net.a.udpSend(sender, bytes: $0, to: (Self.addressB, 7000)) }
        }
        net.a.poll()
        // The backlog keeps the oldest 6; the newer ones are counted drops.
        #expect(net.a.counters[.transmitQueueFull] == 14)
        #expect(net.a.counters[.transmitDeferred] == 6)
        #expect(net.a.heldBuffers == 6)
        #expect(net.ports.pool.statistics.inUse == inUse + 6, "held frames are the pool's, none leaked")
        #expect(net.a.hasTransmitBacklog)

        net.narrow.stalled = false
        #expect(Self.pump(net, seconds: 2) { net.b.udpArrivals(receiver) == 7 })
        var order = [UInt8]()
        while let datagram = try net.b.udpReceive(receiver) {
            order.append(datagram.payload.bytes[0])
            datagram.payload.free()
        }
        #expect(order == Array(UInt8(1)...6), "the first six, in the order they were sent")
        #expect(!net.a.hasTransmitBacklog)
        #expect(net.a.heldBuffers == 0)
    }
}
