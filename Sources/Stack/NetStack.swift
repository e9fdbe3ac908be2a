import Atomics
import Capture
import NetDevice
import Packets
import Platform
import TCP
import Wire

/// An ICMP echo reply the stack received.
public struct EchoReply: Sendable, Equatable {
    public var source: IPv4Address
    public var identifier: UInt16
    public var sequenceNumber: UInt16
    public var payloadLength: Int

    public init(source: IPv4Address, identifier: UInt16, sequenceNumber: UInt16, payloadLength: Int) {
        self.source = source
        self.identifier = identifier
        self.sequenceNumber = sequenceNumber
        self.payloadLength = payloadLength
    }
}

/// One core's network stack: its interfaces, ARP, IPv4 with reassembly,
/// ICMP and UDP, its timers and counters. Nothing is shared with other
/// cores and nothing blocks: `poll()` runs one run-to-completion step
/// (transmit what is waiting → timers → receive burst → demultiplex →
/// protocols → transmit burst), and the application calls the endpoint
/// API (`udpBind`, `udpSend`, `udpReceive`, ...) between polls on the same
/// core.
///
/// TCP (protocol 6) goes to the pure state machine of Sources/TCP (an
/// internal `TCPEndpointTable`): segments in from `deliverTCP`, timers and
/// segments out from `runTCP` on every poll step (NetStack+TCP.swift). The
/// socket layer reaches TCP only through the `tcp*` calls of
/// NetStack+TCPCalls.swift, as it reaches UDP through the `udp*` calls.
///
/// Operations (Docs/OPERATIONS.md): at the start of a step the stack runs
/// what other threads asked of it through its `mailbox` (telemetry
/// snapshots, attaching a capture), and an attached `capture` records each
/// burst received and sent; with neither, each costs a flag or nil check.
public final class NetStack {
    public let limits: StackLimits
    public let clock: TSCClock
    /// The counter value of the current poll step.
    public private(set) var now: UInt64
    /// Added to the TSC reading of each step: lets the whole-stack fuzzer
    /// and tests step time forward (timers, TIME_WAIT, reassembly and ARP
    /// expiry) without waiting. Only ever increase it (time must not go back).
    public var clockSkewCycles: UInt64 = 0
    /// The counters, as they are now (a copy: the core counts in `tally`).
    public var counters: StackCounters { tally.snapshot }
    /// The counters, counted in place by this stack's core.
    let tally = CounterBlock()
    /// The last ICMP echo reply received (for `sendEchoRequest`).
    public var lastEchoReply: EchoReply?

    /// Buffers for what the stack makes itself (ARP, fragments, ICMP errors,
    /// copies sent by `udpSend(bytes:)`).
    let pool: PacketPool
    var interfaces: [NetInterface] = []
    /// Connected subnets, the interfaces' gateways and static routes (NetStack+Routes.swift).
    public internal(set) var routeTable = IPv4RouteTable()
    let timers: TimerWheel<StackTimer>
    let arp: ARPCache<IPv4Address>
    /// The IPv6 neighbour cache (NDP), with ARP's bounds.
    let ndp: ARPCache<IPv6Address>
    let reassembler: Reassembler
    let udp: UDPTable
    let receiveBurst: UnsafeMutableBufferPointer<PacketBuffer>
    var nextIdentification: UInt16
    var reassemblySweepScheduled = false
    var started = false
    // ICMP error rate limit (token bucket).
    var icmpTokens: Int
    var icmpRefilledAt: UInt64
    let cyclesPerICMPToken: UInt64
    // TCP: the endpoint table is made on first use, when the interfaces
    // (and so the MTU that bounds the MSS) are known.
    let tcpConfiguration: TCPConfiguration
    var tcpTable: TCPEndpointTable?
    var tcpDeadline: TCPInstant?
    /// Software receive coalescing (GRO) of TCP segments within a burst.
    let tcpCoalescer: TCPReceiveCoalescer
    /// Received packet buffers TCP's receive rings hold now (NetStack+TCP.swift:
    /// a lent buffer's `userData` points here, its release counts down).
    let lentTCPBuffers: UnsafeMutablePointer<Int>
    /// Receives TCP events (readable, writable, acceptable, closed) for the
    /// socket layer, after each poll step.
    public var tcpEventHandler: ((TCPStreamEvent) -> Void)?
    /// The RSS hash and redirection table of the port when this stack is
    /// one of several cores on it (nil: one core, nothing to steer).
    public var flowSteering: FlowSteering?
    /// The packet capture recording this stack's bursts, or nil (the usual
    /// case: then each burst costs one nil check and nothing else). Set
    /// and cleared on the stack's own thread; the stack clears it itself
    /// at the poll turn after the capture ends.
    public var capture: CoreCapture?
    /// Busy and idle cycles of the core's loop (CoreIdle counts them).
    public internal(set) var load = CoreLoad()
    /// Where other threads (telemetry) ask this core for snapshots.
    public let mailbox = StackMailbox()
    /// The mailbox's flag, checked once per poll step.
    let mailboxPending: UnsafeAtomic<Bool>

    /// - Parameter pool: where the stack takes buffers for packets it builds.
    public init(pool: PacketPool, limits: StackLimits = StackLimits(), clock: TSCClock = .shared,
                tcpConfiguration: TCPConfiguration = TCPConfiguration()) {
        self.limits = limits
        self.tcpConfiguration = tcpConfiguration
        tcpCoalescer = TCPReceiveCoalescer(flows: limits.tcpCoalescingFlows)
        lentTCPBuffers = .allocate(capacity: 1)
        lentTCPBuffers.initialize(to: 0)
        self.clock = clock
        self.pool = pool
        now = TSCClock.cycles()
        timers = TimerWheel(capacity: limits.timers,
                            tickCycles: max(clock.cyclesPerSecond * limits.timerTickMicroseconds / 1_000_000, 1),
                            now: now)
        arp = ARPCache(limits: limits, cyclesPerSecond: clock.cyclesPerSecond)
        ndp = ARPCache(limits: limits, cyclesPerSecond: clock.cyclesPerSecond)
        reassembler = Reassembler(limits: limits, cyclesPerSecond: clock.cyclesPerSecond)
        udp = UDPTable(limits: limits)
        receiveBurst = .allocate(capacity: max(limits.burstSize, 1))
        nextIdentification = UInt16.random(in: 0...UInt16.max)
        icmpTokens = max(limits.icmpErrorBurst, 1)
        icmpRefilledAt = now
        cyclesPerICMPToken = clock.cyclesPerSecond / UInt64(max(limits.icmpErrorsPerSecond, 1))
        mailboxPending = mailbox.pending
    }

    deinit {
        defer { tally.deallocate() }
        // Buffers go back now, while the pools they came from are alive
        // (stored properties are released after this, in no useful order);
        // the TCP rings first, which may hold received buffers.
        tcpTable = nil
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            interface.releaseBatch()
        }
        reassembler.releaseAll()
        arp.releaseAll()
        ndp.releaseAll()
        udp.releaseAll()
        tcpCoalescer.releaseAll()
        receiveBurst.deallocate()
        lentTCPBuffers.deallocate()
    }

    // MARK: Configuration

    /// Adds an interface on `device` (configured and started by the caller)
    /// and returns its index. More than one interface per stack is fine;
    /// their subnets should not overlap.
    @discardableResult
    public func addInterface(device: any NetDevice, queue: Int = 0, configuration: InterfaceConfiguration) throws(StackError) -> Int {
        if interfaces.contains(where: { $0.address == configuration.address.address }) {
            throw StackError(.addressInUse, "address \(configuration.address.address) is already on an interface of this stack")
        }
        let interface = try NetInterface(index: interfaces.count, device: device, queue: queue,
                                         configuration: configuration, burstSize: limits.burstSize,
                                         transmitBacklog: limits.transmitBacklog)
        interfaces.append(interface)
        addInterfaceRoutes(interface)
        if configuration.ipv6 != nil {
            // NDP needs the all-nodes and solicited-node groups (RFC 4861
            // §7.2.1): all-multicast on the NIC (e1000 RCTL.MPE, virtio
            // VIRTIO_NET_CTRL_RX_ALLMULTI). A virtio device without CTRL_RX
            // cannot filter at all (it delivers everything), so its refusal is fine.
            try? device.setAllMulticast(true)
        }
        if started && configuration.announceOnStart { sendGratuitousARP(interface) }
        if started { startIPv6(interface) }
        return interface.index
    }

    /// Announces the interfaces (gratuitous ARP). Call once, after adding them.
    public func start() {
        guard !started else { return }
        started = true
        now = TSCClock.cycles() &+ clockSkewCycles
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            if interface.configuration.announceOnStart { sendGratuitousARP(interface) }
            startIPv6(interface)
        }
        flush()
    }

    /// True while a timer (ARP retry, reassembly) or a TCP deadline is set:
    /// an idle core then sleeps for short spells only (CoreIdle).
    /// Frames held for a full transmit ring count too (they go on the next step).
    public var hasPendingTimers: Bool { timers.activeCount > 0 || tcpDeadline != nil || hasTransmitBacklog }

    /// The interfaces' addresses, in order.
    public var interfaceAddresses: [IPv4Network] { interfaces.map(\.network) }

    // MARK: The poll step

    /// One run-to-completion step; returns the number of frames received.
    @discardableResult
    public func poll() -> Int {
        now = TSCClock.cycles() &+ clockSkewCycles
        if mailboxPending.load(ordering: .relaxed) { mailbox.runJobs(self) }
        if let capture, !capture.continues() { self.capture = nil }
        flush()
        timers.advance(to: now) { event in fire(event) }
        var received = 0
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            let n = interface.device.receive(queue: interface.queue, into: receiveBurst)
            received += n
            // Before the stack parses (and trims) the frames.
            if let capture, n > 0 { capture.record(receiveBurst, count: n, interface: index, direction: .inbound) }
            // Counted once per burst (a counter's += is a uniqueness check and a store).
            if n > 0 { tally[.framesReceived] += UInt64(n) }
            for i in 0..<n { handleFrame(receiveBurst[i], on: interface) }
            // Runs of coalesced TCP segments go to TCP before its output.
            if tcpCoalescer.count > 0 { flushCoalescedTCP() }
        }
        runTCP()
        flush()
        return received
    }

    /// Hands every batched frame to its device.
    public func flush() {
        for index in 0..<interfaces.count {
            let interface = interfaces[index]
            if interface.batchCount > 0 { transmitBatch(interface) }
        }
    }

    /// Offers the waiting frames to the device, the held ones first. What a
    /// full ring refuses stays for the next burst (the transmit backlog, up
    /// to `StackLimits.transmitBacklog` frames: a refused 64 KiB TSO segment
    /// would otherwise cost TCP a retransmission timeout); the next poll
    /// step offers it again before anything new.
    func transmitBatch(_ interface: NetInterface) {
        let count = interface.batchCount
        let held = interface.heldCount
        let frames = UnsafeMutableBufferPointer(rebasing: interface.batch[0..<count])
        // Before the device owns the frames, each once: held ones were recorded
        // when they were first offered (they left the stack then).
        if let capture, count > held {
            capture.record(UnsafeMutableBufferPointer(rebasing: frames[held..<count]), count: count - held,
                           interface: interface.index, direction: .outbound)
        }
        let sent = interface.device.transmit(queue: interface.queue, frames)
        tally[.framesTransmitted] += UInt64(sent)
        var left = count - sent
        if left > interface.backlogLimit {
            // The backlog is full too: the newest go, as a full queue drops on a wire.
            let dropped = left - interface.backlogLimit
            tally[.transmitQueueFull] += UInt64(dropped)
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: frames[(count - dropped)..<count]))
            left = interface.backlogLimit
        }
        if left > 0 {
            // New frames among the kept ones enter the backlog (counted once).
            tally[.transmitDeferred] += UInt64(max(min(left, sent + left - held), 0))
            if sent > 0 {
                for i in 0..<left { frames[i] = frames[sent + i] }
            }
        }
        interface.batchCount = left
        interface.heldCount = left
    }

    /// Queues a complete frame for the interface's next burst; a burst of
    /// new frames goes to the device at once (there is always room after:
    /// the backlog keeps at most `backlogLimit`).
    @inline(__always)
    func enqueueFrame(_ frame: PacketBuffer, on interface: NetInterface) {
        if interface.batchCount - interface.heldCount >= interface.burstSize { transmitBatch(interface) }
        interface.batch[interface.batchCount] = frame
        interface.batchCount += 1
    }

    /// True while frames wait for a full transmit ring: the core has work.
    public var hasTransmitBacklog: Bool {
        for index in 0..<interfaces.count where interfaces[index].heldCount > 0 { return true }
        return false
    }

    func fire(_ event: StackTimer) {
        switch event {
        case .arpRetry(let entry, let generation):
            arpRetryFired(entry: Int(entry), generation: generation)
        case .ndpRetry(let entry, let generation):
            ndpRetryFired(entry: Int(entry), generation: generation)
        case .dadComplete(let interface):
            dadCompleted(interfaces[Int(interface)])
        case .mldReport(let interface):
            mldTimerFired(interfaces[Int(interface)])
        case .reassemblySweep:
            reassemblySweepScheduled = false
            let expired = reassembler.expire(now: now)
            tally[.reassemblyTimeout] += UInt64(expired)
            scheduleReassemblySweep()
        }
    }

    func schedule(after cycles: UInt64, _ event: StackTimer) -> Bool {
        if timers.schedule(at: now + cycles, event) != nil { return true }
        tally[.timersExhausted] += 1
        return false
    }

    func scheduleReassemblySweep() {
        guard !reassemblySweepScheduled, reassembler.inFlight > 0 else { return }
        // A tenth of the timeout (at most 100 ms) bounds how late a datagram expires.
        let period = min(clock.cyclesPerSecond / 10, max(reassembler.timeoutCycles / 10, 1))
        reassemblySweepScheduled = schedule(after: period, .reassemblySweep)
    }

    // MARK: Receive: Ethernet

    /// One received frame (`poll` counts it in `framesReceived`).
    @inline(__always)
    func handleFrame(_ packet: PacketBuffer, on interface: NetInterface) {
        let frame: EthernetFrame
        do {
            frame = try EthernetFrame(checking: packet.bytes)
        } catch {
            tally.countMalformed(.ethernet, error)
            packet.free()
            return
        }
        let destination = frame.destination
        // IPv6 multicast (33:33:...) goes on to IPv6, which checks the group.
        guard destination == interface.macAddress || destination.isBroadcast
                || (interface.ipv6 != nil && destination.bytes.0 == 0x33 && destination.bytes.1 == 0x33) else {
            tally[.ethernetNotForUs] += 1
            packet.free()
            return
        }
        guard !frame.hasVLANTag else {
            tally[.ethernetVLANUnsupported] += 1
            packet.free()
            return
        }
        let etherType = frame.etherType
        packet.removeFirst(EthernetFrame.headerLength)
        if etherType == .ipv4 {
            handleIPv4(packet, on: interface)
        } else if etherType == .arp {
            handleARP(packet, on: interface)
        } else if etherType == .ipv6 {
            handleIPv6(packet, on: interface)
        } else {
            tally[.ethernetUnknownType] += 1
            packet.free()
        }
    }

    // MARK: Transmit: Ethernet

    /// Prepends the Ethernet header to a finished IPv4 packet and queues it.
    @inline(__always)
    func sendFrame(_ packet: PacketBuffer, to destination: MACAddress, etherType: EtherType, on interface: NetInterface) {
        guard let start = packet.prepend(EthernetFrame.headerLength) else {
            tally[.noBuffers] += 1
            packet.free()
            return
        }
        EthernetRepr(destination: destination, source: interface.macAddress, etherType: etherType)
            .emit(into: EthernetFrame(unchecked: UnsafeMutableRawBufferPointer(start: start, count: EthernetFrame.headerLength)))
        enqueueFrame(packet, on: interface)
    }
}
