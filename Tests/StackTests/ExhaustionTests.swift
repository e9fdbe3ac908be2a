import Packets
import Stack
import Testing
import Wire

/// Bounds reached under load (Docs/ROBUSTNESS.md): the packet pool run dry
/// by traffic, the ARP wait queue and the reassembly budget full. Each one
/// must count its drops, recover when the pressure goes, and give every
/// buffer back: with the rings drained, the pool's buffers in use equal
/// what the stacks say they hold (`heldBuffers`), and zero at the end.
@Suite("Resource exhaustion")
struct ExhaustionTests {
    static func advance(_ stack: NetStack, seconds: UInt64) {
        stack.clockSkewCycles &+= seconds * stack.clock.cyclesPerSecond
    }

    @Test("the pool run dry by unread UDP while TCP flows: drops counted, TCP finishes byte-exact, every buffer back")
    func poolDrivenEmpty() throws {
        var limits = StackLimits()
        limits.udpReceiveQueueDatagrams = 4096  // the queue outlasts the pool: the pool is what runs out
        let net = try TwoStacks(limits: limits, poolSize: 512)
        let sink = try net.b.udpBind(port: 7000)
        let source = try net.a.udpBind(port: 7001)
        let listener = try net.b.tcpListen(address: .any, port: 5001, backlog: 4, options: TCPStreamOptions())
        let (client, _) = try net.a.tcpConnect(from: TwoStacks.addressA, port: nil, to: TwoStacks.addressB, port: 5001,
                                               options: TCPStreamOptions())
        var server: TCPStreamHandle?
        #expect(net.pump(until: { server = server ?? net.b.tcpAccept(listener)?.0; return server != nil }))
        let serverID = try #require(server)

        let size = 512 << 10
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        var sent = 0
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var udpRefused = 0
        func moveTCP() {
            if sent < size, case .queued(let n) = data.withUnsafeBytes({ all in
                net.a.tcpSend(client, UnsafeRawBufferPointer(rebasing: all[sent..<min(sent + 16_384, size)]))
            }) { sent += n }
            while let n = chunk.withUnsafeMutableBytes({ net.b.tcpReceive(serverID, into: $0)?.count }), n > 0 {
                received.append(contentsOf: chunk[0..<n])
            }
        }
        // Phase 1: UDP nobody reads fills B's queue until the pool is empty.
        let payload = [UInt8](repeating: 0x5A, count: 900)
        let dry = net.pump(until: {
            for _ in 0..<8 {
                do {
                    try payload.withUnsafeBytes { try net.a.udpSend(source, bytes: $0, to: (TwoStacks.addressB, 7000)) }
                } catch {
                    udpRefused += 1
                }
            }
            moveTCP()
            return udpRefused > 50
        }, seconds: 20)
        #expect(dry, "the pool never ran dry: \(net.pool.statistics)")
        #expect(net.a.counters[.noBuffers] > 0, "running out of buffers is counted")
        #expect(net.pool.statistics.available < 16)
        #expect(net.b.heldBuffers > 400, "the unread datagrams hold the pool")

        // Phase 2: B reads its datagrams; TCP, stalled meanwhile, recovers and finishes.
        var drained = 0
        let finished = net.pump(until: {
            while let datagram = try? net.b.udpReceive(sink) {
                datagram.payload.free()
                drained += 1
            }
            moveTCP()
            return received.count == size
        }, seconds: 60)
        #expect(finished, "received \(received.count) of \(size) after the pool came back")
        #expect(received == data)
        #expect(drained > 100)

        // Phase 3: close everything and let TIME-WAIT pass: every buffer back.
        net.a.tcpRelease(client)
        net.b.tcpRelease(serverID)
        net.b.tcpCloseListener(listener)
        net.a.udpClose(source)
        net.b.udpClose(sink)
        for _ in 0..<10 {
            Self.advance(net.a, seconds: 30)
            Self.advance(net.b, seconds: 30)
            net.pump(4)
        }
        #expect(net.a.heldBuffers == 0 && net.b.heldBuffers == 0)
        #expect(net.pool.statistics.inUse == 0, "\(net.pool.statistics.inUse) buffers never came back")
    }

    @Test("the ARP wait queue at its bounds: per address and in total, drops counted, all freed when unresolved")
    func arpWaitQueueBound() throws {
        var limits = StackLimits()
        limits.arpPendingPerEntry = 4
        limits.arpPendingTotal = 6
        let net = try StackAndWire(limits: limits)
        let endpoint = try net.stack.udpBind(port: 9000)
        // Two silent neighbours: 10 datagrams each, never answered.
        for host: UInt8 in [20, 21] {
            for _ in 0..<10 {
                try [UInt8](repeating: 1, count: 100).withUnsafeBytes {
                    try net.stack.udpSend(endpoint, bytes: $0, to: (IPv4Address(10, 0, 0, host), 9))
                }
            }
        }
        net.stack.poll()
        #expect(net.stack.heldBuffers == 6, "per address 4, in total 6")
        #expect(net.stack.counters[.arpQueueFull] == 14)
        _ = net.sent()  // the ARP requests
        #expect(net.pool.statistics.inUse == net.stack.heldBuffers)
        // The retries run out: what waited is dropped and counted, every buffer is back.
        for _ in 0..<10 {
            Self.advance(net.stack, seconds: 5)
            net.stack.poll()
        }
        _ = net.sent()
        #expect(net.stack.counters[.arpUnresolved] == 6)
        #expect(net.stack.heldBuffers == 0)
        #expect(net.pool.statistics.inUse == 0)
        net.stack.udpClose(endpoint)
    }

    @Test("an address whose first packet finds the ARP wait queue full is not left incomplete without a retry (fuzz finding tcp-arp-incomplete-no-retry)")
    func arpFirstPacketRefused() throws {
        var limits = StackLimits()
        limits.arpPendingTotal = 2
        let net = try StackAndWire(limits: limits)
        let endpoint = try net.stack.udpBind(port: 9000)
        func send(to host: UInt8) throws {
            try [UInt8](repeating: 1, count: 100).withUnsafeBytes {
                try net.stack.udpSend(endpoint, bytes: $0, to: (IPv4Address(10, 0, 0, host), 9))
            }
        }
        try send(to: 20)
        try send(to: 20)
        try send(to: 21)  // the queue is full: dropped, and .21 must not stay incomplete
        #expect(net.stack.counters[.arpQueueFull] == 1)
        for _ in 0..<10 {
            Self.advance(net.stack, seconds: 5)
            net.stack.poll()
        }
        _ = net.sent()
        #expect(net.stack.heldBuffers == 0)
        // .21 again: a fresh resolution with its own retries, which give up and free the packet.
        try send(to: 21)
        net.stack.poll()
        #expect(net.stack.heldBuffers == 1)
        for _ in 0..<10 {
            Self.advance(net.stack, seconds: 5)
            net.stack.poll()
        }
        _ = net.sent()
        #expect(net.stack.heldBuffers == 0)
        #expect(net.pool.statistics.inUse == 0)
        net.stack.udpClose(endpoint)
    }

    @Test("the reassembly budget at its bound: datagrams beyond it dropped and counted, held ones expire, buffers back")
    func reassemblyBound() throws {
        var limits = StackLimits()
        limits.reassemblyDatagrams = 3
        limits.reassemblyMemoryBytes = 6 * 2_432
        let net = try StackAndWire(limits: limits)
        net.introducePeer()
        // First fragments of 8 datagrams, none completed: 3 slots.
        for id: UInt16 in 1...8 {
            net.inject(net.ipv4Frame(protocol: .udp, payload: [UInt8](repeating: 7, count: 64), identification: id,
                                     moreFragments: true))
        }
        #expect(net.stack.heldBuffers == 3)
        #expect(net.stack.counters[.reassemblyTooManyDatagrams] == 5)
        // More fragments of the held ones until the memory budget refuses them.
        for offset in 1...6 {
            net.inject(net.ipv4Frame(protocol: .udp, payload: [UInt8](repeating: 7, count: 64), identification: 1,
                                     moreFragments: true, fragmentOffset: offset * 64))
        }
        #expect(net.stack.counters[.reassemblyMemoryLimit] > 0)
        #expect(net.pool.statistics.inUse == net.stack.heldBuffers)
        Self.advance(net.stack, seconds: 31)
        net.stack.poll()
        _ = net.sent()  // the ICMP time-exceeded messages (RFC 792) for first fragments
        #expect(net.stack.counters[.reassemblyTimeout] == 3)
        #expect(net.stack.heldBuffers == 0)
        #expect(net.pool.statistics.inUse == 0)
    }
}
