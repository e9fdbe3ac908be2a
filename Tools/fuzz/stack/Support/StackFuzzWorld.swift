import LoopbackDriver
import NetDevice
import Packets
import Sockets
import Stack
import TCP
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// One whole stack for one fuzz input: a NetStack with its socket table on
/// the first port of a LoopbackPair, the fuzzer's peer on the second. The
/// peer injects frames built from the input and reads back what the stack
/// sends, learning the sequence numbers of each TCP conversation so later
/// segments can land in the window (random numbers never would).
///
/// The stack and its sockets are built afresh for every input (a crash
/// reproduces from its input alone); the pool and the loopback pair are
/// made once per process and reused, which is sound because every input
/// ends with all buffers back and both rings empty (`finish` checks it).
/// Small limits so the bounds are reached within a short program.
public final class StackFuzzWorld {
    static let stackAddress = IPv4Address(10, 121, 0, 1)
    static let peerAddress = IPv4Address(10, 121, 0, 2)
    static let peerMAC = MACAddress(0x02, 0, 0, 0x79, 0, 2)
    static let stackMAC = MACAddress(0x02, 0, 0, 0x79, 0, 1)
    static let poolCapacity = 384

    /// The peer's hosts: .2 answers ARP on its own; .3-.7 only when the
    /// program sends their ARP (else packets to them wait, then drop).
    static func host(_ k: UInt8) -> IPv4Address { IPv4Address(10, 121, 0, 2 + k % 6) }

    /// Well-known ports the programs use (a learned ephemeral port is added
    /// by the flows).
    static let ports: [UInt16] = [80, 8080, 53, 7, 0, 9, 40000, 40001]

    let pool: PacketPool
    let pair: LoopbackPair
    public let stack: NetStack
    public let core: SocketCore
    /// Descriptors opened and not closed, in order of opening.
    var descriptors: [Int32] = []
    /// TCP conversations the peer has seen or started.
    var flows: [TCPFlow] = []
    /// Who the peer's ARP answers go to, sent at the next step.
    var pendingReplies: [IPv4Address] = []
    /// Frames handed to the stack and frames taken from it, for the
    /// counter checks (the stack's counters must equal the port's).
    var injected: UInt64 = 0
    var drained: UInt64 = 0
    /// The four-tuples seen in one check (kept to reuse its storage).
    var tuples = Set<TCPFourTuple>()

    // Scratch memory made once per process, so that a program allocates
    // nothing of its own per step (Docs/ROBUSTNESS.md, "Execution rate").
    /// The frame the peer builds (StackFuzzFrames.swift).
    nonisolated(unsafe) static let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 * 1024, alignment: 16)
    /// A frame the stack sent, copied out of its (maybe chained) buffer.
    nonisolated(unsafe) static let sent = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// What recv() calls read into.
    nonisolated(unsafe) static let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 20_000, alignment: 16)
    /// Bursts to and from the peer's port.
    nonisolated(unsafe) static let slots = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)

    struct TCPFlow: Equatable {
        var peer: IPv4Address
        var peerPort: UInt16
        var stackPort: UInt16
        /// The stack's next sequence number (what the peer acknowledges).
        var stackNext: UInt32
        /// What the stack acknowledged last (the peer's next sequence number).
        var peerNext: UInt32
    }

    /// Made once: mapping a pool costs more than a whole program.
    nonisolated(unsafe) static let devices: (PacketPool, LoopbackPair) = {
        let pool = try! PacketPool(name: "fuzz-stack", capacity: poolCapacity, cacheSize: 0, policy: .anonymous)
        let pair = try! LoopbackPair(ringSize: 64, firstAddress: stackMAC, secondAddress: peerMAC)
        for port in [pair.first, pair.second] {
            try! port.configure(PortConfiguration(receivePools: [pool]))
            try! port.start()
        }
        return (pool, pair)
    }()

    public init() {
        (pool, pair) = Self.devices
        // Stopping frees whatever a previous stack left in the rings.
        for port in [pair.first, pair.second] {
            port.stop()
            try! port.start()
        }
        pair.first.resetStatistics()
        var limits = StackLimits()
        limits.arpCacheEntries = 4
        limits.arpPendingPerEntry = 4
        limits.arpPendingTotal = 8
        limits.reassemblyDatagrams = 3
        limits.reassemblyFragmentsPerDatagram = 8
        limits.reassemblyMemoryBytes = 24 * 2_432
        limits.udpEndpoints = 8
        limits.udpReceiveQueueDatagrams = 8
        limits.timers = 64  // ARP, reassembly, DAD: a few (exhaustion is counted); 512 cost 4% of an input to set up
        // TCP gives up sooner than the default (15 retransmissions up to 60 s
        // apart outlast `finish`'s ten minutes), so an orphaned connection
        // ends, and with it the retransmission waiting for ARP.
        var tcp = TCPConfiguration()
        tcp.maximumRetransmissions = 6
        tcp.maximumSYNRetransmissions = 3
        tcp.maximumRTO = .seconds(10)
        // 64 queued RSTs (a reachable bound; the default 4,096 reserved
        // per stack was a fifth of an input's cost under ASan).
        tcp.controlQueueLimit = 64
        stack = NetStack(pool: pool, limits: limits, tcpConfiguration: tcp)
        try! stack.addInterface(device: pair.first, configuration: InterfaceConfiguration(
            address: IPv4Network(address: Self.stackAddress, prefixLength: 24)!, mtu: 1500, announceOnStart: false))
        stack.start()
        var configuration = SocketCoreConfiguration()
        configuration.maximumSockets = 16
        configuration.defaultReceiveBufferSize = 16 * 1024
        configuration.defaultSendBufferSize = 16 * 1024
        configuration.privilegedPorts = .allowed
        configuration.raisesSIGPIPE = false  // EPIPE is the answer; the signal would end the fuzzer
        core = try! SocketCore(stack: stack, configuration: configuration)
    }

    /// Closes everything, lets every timer run out, then checks that all
    /// buffers went back to the pool. Call once, at the end of a program.
    public func finish() {
        if Self.tracing { trace("before close") }
        for descriptor in descriptors { try? core.close(descriptor) }
        descriptors.removeAll()
        // TIME_WAIT (60 s), reassembly (30 s), ARP retries and stale
        // entries: ten minutes in steps the timers can follow.
        // Once nothing is left (no connection, none in TIME-WAIT, no buffer
        // held anywhere) no later timer can change the outcome: stop early
        // (most programs end their connections, and these steps were half
        // of an input's cost; Docs/ROBUSTNESS.md, "Execution rate").
        for _ in 0..<20 {
            advanceClock(milliseconds: 30_000)
            step()
            if stack.tcpConnectionCount == 0, stack.tcpTimeWaitCount == 0, stack.heldBuffers == 0,
               core.heldBuffers == 0, pool.statistics.inUse == 0 { break }
        }
        if Self.tracing { trace("after expiry") }
        require(core.heldBuffers == 0, "closed sockets still hold \(core.heldBuffers) buffers")
        require(stack.heldBuffers == 0, "the stack still holds \(stack.heldBuffers) buffers after everything closed and expired")
        require(pool.statistics.inUse == 0, "\(pool.statistics.inUse) pool buffers never came back (leak)")
        // The port's own counters (a dictionary each call: once per program).
        let port = pair.first.statistics()
        require(port.receivedPackets == injected && port.transmittedPackets == drained,
                "port counted \(port.receivedPackets) in, \(port.transmittedPackets) out; the peer \(injected), \(drained)")
    }

    /// DP_FUZZ_TRACE=1: print what a program reached (to check seeds and
    /// the decoder when replaying one input; never set in fuzzing runs).
    static let tracing = getenv("DP_FUZZ_TRACE") != nil

    func trace(_ label: String) {
        // stderr: unbuffered, so the lines before a crash are not lost.
        let line = ("trace \(label): descriptors \(descriptors), flows \(flows.count), connections "
              + stack.tcpConnectionInfos.map { "\($0.tuple) \($0.state)" }.joined(separator: ", ")
              + ", neighbours " + stack.neighbours.map { "\($0.address) \($0.state) waiting \($0.waiting)" }.joined(separator: ", ")
              + ", held buffers \(stack.heldBuffers) + \(core.heldBuffers), counters " + stack.counters.named.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n")
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    func advanceClock(milliseconds: UInt64) {
        stack.clockSkewCycles &+= milliseconds * stack.clock.cyclesPerSecond / 1000
    }

    /// One poll step of the core, then the peer reads what the stack sent
    /// and the invariants are checked.
    func step() {
        for target in pendingReplies.prefix(8) {
            inject(Self.arpFrame(.reply, sender: Self.peerAddress, senderMAC: Self.peerMAC, target: target, broadcast: false))
        }
        pendingReplies.removeAll(keepingCapacity: true)
        core.runOnce()
        drainPeer()
        checkInvariants()
    }

    /// Hands one frame to the stack (a full ring drops it, as a NIC would).
    func inject(raw frame: UnsafeRawBufferPointer) {
        guard frame.count > 0, let packet = pool.allocate() else { return }
        guard let destination = packet.append(frame.count) else {
            packet.free()
            return
        }
        destination.copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        Self.slots[0] = packet
        if pair.second.transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: Self.slots[0..<1])) == 0 {
            packet.free()
        } else {
            injected += 1
        }
    }

    /// Hands the first `length` bytes of `frame` to the stack.
    func inject(_ length: Int) {
        inject(raw: UnsafeRawBufferPointer(rebasing: Self.frame[0..<length]))
    }

    /// Takes every frame the stack sent, learns from it, frees it.
    func drainPeer() {
        while true {
            let n = pair.second.receive(queue: 0, into: Self.slots)
            if n == 0 { return }
            drained += UInt64(n)
            for i in 0..<n {
                let length = min(Self.slots[i].packetLength, Self.sent.count)
                _ = Self.slots[i].copyBytes(from: 0, count: length, to: Self.sent.baseAddress!)
                learn(UnsafeMutableRawBufferPointer(rebasing: Self.sent[0..<length]))
                Self.slots[i].free()
            }
        }
    }
}

/// Stops the run (libFuzzer records the input as a crash) when an invariant fails.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("stack fuzz invariant failed: \(message())") }
}
