import Wire

/// All TCP of one core: connections demultiplexed by 4-tuple, listeners with
/// SYN backlogs, SYN cookies and accept queues, RSTs for closed ports,
/// ephemeral ports, and the TIME-WAIT table. Like `TCPConnection` it is a
/// pure state machine: the stack feeds it segments and ticks and sends what
/// `nextSegment` returns; the socket layer makes calls and takes events.
///
///     table.handle(segment:payload:source:destination:now:)   // each TCP segment received
///     table.poll(now:)                                        // when nextDeadline passed
///     while let out = table.nextSegment(now:) { emit out.repr; table.copyPayload(of: out, to: ...) }
///     while let event = table.nextEvent() { wake sockets }
public final class TCPEndpointTable {
    public let configuration: TCPConfiguration
    public internal(set) var statistics = TCPTableStatistics()
    /// The counters of every connection this table has freed, summed.
    public private(set) var freedConnectionTotals = TCPConnectionStatistics()
    let sequenceNumbers: TCPInitialSequenceNumbers
    /// The configuration and secrets every connection reads (one copy).
    let connectionShared: TCPConnectionShared
    let cookies: TCPSYNCookies
    let portKey: SipHashKey

    // Connections: slots with generations, a free list, and the demux map.
    var slots: [TCPConnection?] = []
    var slotInfo: [SlotInfo] = []
    var freeSlots: [Int32] = []
    /// 4-tuple to slot (IPv4 tuples under a 12-byte key: TCPDemuxMap.swift).
    var byTuple = TCPDemuxMap()

    var listeners: [TCPListener?] = []
    var listenerByEndpoint: [TCPEndpoint: Int32] = [:]

    var timeWait: TCPTimeWaitTable
    /// Every connection's next deadline (TCPEndpointTable+Wheel.swift).
    var wheel = TCPTimerWheel()
    /// The chunks of every connection's send and receive rings.
    public let chunkCache: TCPChunkCache

    /// RSTs and cookie SYN-ACKs, which belong to no connection.
    var controlQueue: [TCPOutgoingSegment] = []
    var controlQueueHead = 0
    let controlQueueLimit: Int

    /// The path MTU the IP layer learnt toward a peer (Packet Too Big),
    /// nil when none is below the link's: new connections start with it.
    public var knownPathMTU: ((IPv6Address) -> Int?)?

    /// Slots that were touched and may have output or events.
    var dirty: [Int32] = []
    var dirtyCursor = 0
    var events: [TCPTableEvent] = []
    var eventsHead = 0
    var ephemeralCounter: UInt32 = 0
    /// Lower bound of every connection's and TIME-WAIT entry's deadline.
    var cachedDeadline: TCPInstant?

    struct SlotInfo {
        var generation: UInt32 = 0
        var isDirty = false
        /// The listener that made it, until the application accepts it.
        var parent: Int32 = -1
        var accepted = true
        var inAcceptQueue = false
        /// The application released the handle: the table frees the slot when the connection ends.
        var released = false
        /// The deadline this slot is filed under in the timer wheel, and its links there.
        var scheduled: TCPInstant?
        var wheelNext: Int32 = -1
        var wheelPrevious: Int32 = -1
        var wheelBucket: Int32 = -1
    }

    public init(configuration: TCPConfiguration = TCPConfiguration(), key: SipHashKey = .random()) {
        self.configuration = configuration
        sequenceNumbers = TCPInitialSequenceNumbers(key: key)
        connectionShared = TCPConnectionShared(configuration: configuration, sequenceNumbers: sequenceNumbers)
        cookies = TCPSYNCookies(key: SipHashKey(k0: key.k0 ^ 0x636f_6f6b_6965_7321, k1: key.k1))
        portKey = SipHashKey(k0: key.k1, k1: key.k0 ^ 0x706f_7274_7321)
        timeWait = TCPTimeWaitTable(capacity: configuration.maximumTimeWaitEntries)
        chunkCache = TCPChunkCache(chunkSize: configuration.ringChunkSize, budgetBytes: configuration.bufferBudgetBytes,
                                   cachedChunkLimit: configuration.cachedRingChunks)
        controlQueueLimit = max(configuration.controlQueueLimit, 1)
        controlQueue.reserveCapacity(controlQueueLimit)
    }

    // MARK: Lookup

    /// The connection behind a handle (nil once released or freed).
    public func connection(_ id: TCPConnectionID) -> TCPConnection? {
        guard id.slot >= 0, Int(id.slot) < slots.count, slotInfo[Int(id.slot)].generation == id.generation else { return nil }
        return slots[Int(id.slot)]
    }

    public var connectionCount: Int { byTuple.count }
    public var timeWaitCount: Int { timeWait.count }
    /// The 4-tuples in TIME-WAIT (for diagnostics and tests).
    public var timeWaitTuples: [TCPFourTuple] { timeWait.tuples }

    func id(of slot: Int32) -> TCPConnectionID {
        TCPConnectionID(slot: slot, generation: slotInfo[Int(slot)].generation)
    }

    func markDirty(_ slot: Int32) {
        guard !slotInfo[Int(slot)].isDirty else { return }
        slotInfo[Int(slot)].isDirty = true
        dirty.append(slot)
    }

    // MARK: Slots

    func insert(_ connection: TCPConnection) -> Int32 {
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = connection
            slotInfo[Int(slot)].generation &+= 1
            let generation = slotInfo[Int(slot)].generation
            slotInfo[Int(slot)] = SlotInfo(generation: generation)
        } else {
            slot = Int32(slots.count)
            slots.append(connection)
            slotInfo.append(SlotInfo(generation: 1))
        }
        byTuple[connection.tuple] = slot
        if let lookup = knownPathMTU, let mtu = lookup(connection.tuple.remote.address) {
            connection.pathSegmentBudget = max(mtu - connection.headerBytes, 64)
        }
        return slot
    }

    func free(_ slot: Int32) {
        guard let connection = slots[Int(slot)] else { return }
        unschedule(slot)
        if byTuple[connection.tuple] == slot { byTuple.removeValue(forKey: connection.tuple) }
        freedConnectionTotals.add(connection.statistics)
        slots[Int(slot)] = nil
        slotInfo[Int(slot)].generation &+= 1
        freeSlots.append(slot)
        statistics.connectionsFreed += 1
    }

    /// The counters of every connection, live and freed, summed (for
    /// reports; walks the live slots).
    public var connectionTotals: TCPConnectionStatistics {
        var totals = freedConnectionTotals
        for case let connection? in slots { totals.add(connection.statistics) }
        return totals
    }

    // MARK: Calls from the socket layer: connections

    /// Runs a call on a live connection and marks it for output and events.
    @discardableResult
    public func withConnection<R>(_ id: TCPConnectionID, _ body: (TCPConnection) throws(TCPCallError) -> R) throws(TCPCallError) -> R {
        guard let connection = connection(id) else { throw .unknownConnection }
        defer { markDirty(id.slot) }
        return try body(connection)
    }

    public func send(_ id: TCPConnectionID, _ bytes: UnsafeRawBufferPointer) throws(TCPCallError) -> Int {
        try withConnection(id) { (c) throws(TCPCallError) in try c.send(bytes) }
    }

    public func receive(_ id: TCPConnectionID, into destination: UnsafeMutableRawBufferPointer) throws(TCPReceiveError) -> Int {
        guard let connection = connection(id) else { throw .notConnected }
        defer { markDirty(id.slot) }
        return try connection.receive(into: destination)
    }

    public func shutdownWrite(_ id: TCPConnectionID) throws(TCPCallError) {
        try withConnection(id) { (c) throws(TCPCallError) in try c.shutdownWrite() }
    }

    /// setsockopt: TCP_NODELAY, SO_KEEPALIVE and the keepalive timings.
    public func setOptions(_ id: TCPConnectionID, _ options: TCPConnectionOptions, now: TCPInstant) throws(TCPCallError) {
        try withConnection(id) { $0.setOptions(options, now: now) }
    }

    public func abort(_ id: TCPConnectionID) {
        try? withConnection(id) { $0.abort() }
    }

    /// close(): the application gives up the handle. The connection finishes
    /// on its own (FIN, TIME-WAIT) and the table frees it.
    public func release(_ id: TCPConnectionID, now: TCPInstant) {
        guard let connection = connection(id) else { return }
        let slot = Int(id.slot)
        slotInfo[slot].released = true
        if connection.state != .closed && connection.state != .timeWait { connection.close(now: now) }
        markDirty(id.slot)
    }
}
