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
    public private(set) var statistics = TCPTableStatistics()
    /// The counters of every connection this table has freed, summed.
    public private(set) var freedConnectionTotals = TCPConnectionStatistics()
    let sequenceNumbers: TCPInitialSequenceNumbers
    let cookies: TCPSYNCookies
    let portKey: SipHashKey

    // Connections: slots with generations, a free list, and the demux map.
    private var slots: [TCPConnection?] = []
    private var slotInfo: [SlotInfo] = []
    private var freeSlots: [Int32] = []
    private var byTuple: [TCPFourTuple: Int32] = [:]

    private var listeners: [TCPListener?] = []
    private var listenerByEndpoint: [TCPEndpoint: Int32] = [:]

    private var timeWait: TCPTimeWaitTable

    /// RSTs and cookie SYN-ACKs, which belong to no connection.
    private var controlQueue: [TCPOutgoingSegment] = []
    private var controlQueueHead = 0
    private let controlQueueLimit = 4096

    /// Slots that were touched and may have output or events.
    private var dirty: [Int32] = []
    private var dirtyCursor = 0
    private var events: [TCPTableEvent] = []
    private var eventsHead = 0
    private var ephemeralCounter: UInt32 = 0
    /// Lower bound of every connection's and TIME-WAIT entry's deadline.
    private var cachedDeadline: TCPInstant?

    struct SlotInfo {
        var generation: UInt32 = 0
        var isDirty = false
        /// The listener that made it, until the application accepts it.
        var parent: Int32 = -1
        var accepted = true
        var inAcceptQueue = false
        /// The application released the handle: the table frees the slot when the connection ends.
        var released = false
    }

    public init(configuration: TCPConfiguration = TCPConfiguration(), key: SipHashKey = .random()) {
        self.configuration = configuration
        sequenceNumbers = TCPInitialSequenceNumbers(key: key)
        cookies = TCPSYNCookies(key: SipHashKey(k0: key.k0 ^ 0x636f_6f6b_6965_7321, k1: key.k1))
        portKey = SipHashKey(k0: key.k1, k1: key.k0 ^ 0x706f_7274_7321)
        timeWait = TCPTimeWaitTable(capacity: configuration.maximumTimeWaitEntries)
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

    private func id(of slot: Int32) -> TCPConnectionID {
        TCPConnectionID(slot: slot, generation: slotInfo[Int(slot)].generation)
    }

    private func markDirty(_ slot: Int32) {
        guard !slotInfo[Int(slot)].isDirty else { return }
        slotInfo[Int(slot)].isDirty = true
        dirty.append(slot)
    }

    // MARK: Calls from the socket layer

    /// Opens a listener. `backlog` bounds the accept queue; `synBacklog`
    /// the half-open children (defaults to the same).
    public func listen(on local: TCPEndpoint, backlog: Int, synBacklog: Int? = nil,
                       options: TCPConnectionOptions? = nil) throws(TCPCallError) -> TCPListenerID {
        guard listenerByEndpoint[local] == nil else { throw .addressInUse(local) }
        let options = options ?? configuration.defaultConnectionOptions
        let index = listeners.firstIndex { $0 == nil } ?? listeners.count
        let generation = UInt32(truncatingIfNeeded: index &* 7919) &+ ephemeralCounter
        ephemeralCounter &+= 1
        let listener = TCPListener(local: local, options: options, synBacklog: max(synBacklog ?? backlog, 1),
                                   acceptBacklog: max(backlog, 1), generation: generation)
        if index == listeners.count { listeners.append(listener) } else { listeners[index] = listener }
        listenerByEndpoint[local] = Int32(index)
        return TCPListenerID(index: Int32(index), generation: generation)
    }

    private func listenerIndex(_ id: TCPListenerID) -> Int? {
        guard id.index >= 0, Int(id.index) < listeners.count, let listener = listeners[Int(id.index)],
              listener.generation == id.generation else { return nil }
        return Int(id.index)
    }

    /// Stops listening; children not yet accepted are reset.
    public func closeListener(_ id: TCPListenerID, now: TCPInstant) {
        guard let index = listenerIndex(id), let listener = listeners[index] else { return }
        listenerByEndpoint.removeValue(forKey: listener.local)
        listeners[index] = nil
        for slot in slots.indices where slotInfo[slot].parent == Int32(index) && !slotInfo[slot].accepted {
            slots[slot]?.abort()
            slotInfo[slot].released = true
            slotInfo[slot].parent = -1
            markDirty(Int32(slot))
        }
    }

    /// The next established connection of a listener, or nil.
    public func accept(_ id: TCPListenerID) -> TCPConnectionID? {
        guard let index = listenerIndex(id) else { return nil }
        while let child = listeners[index]!.popAccept() {
            guard connection(child) != nil else { continue }
            let slot = Int(child.slot)
            slotInfo[slot].accepted = true
            slotInfo[slot].inAcceptQueue = false
            slotInfo[slot].parent = -1
            statistics.connectionsAccepted += 1
            if slots[slot]!.hasPendingEvents { markDirty(child.slot) }
            return child
        }
        return nil
    }

    /// Connections waiting in a listener's accept queue.
    public func acceptQueueLength(_ id: TCPListenerID) -> Int {
        listenerIndex(id).map { listeners[$0]!.acceptQueueCount } ?? 0
    }

    /// Active open from `localAddress` (port chosen from the ephemeral range
    /// unless given) to `remote`.
    public func connect(from localAddress: IPv4Address, port: UInt16? = nil, to remote: TCPEndpoint,
                        options: TCPConnectionOptions? = nil,
                        now: TCPInstant) throws(TCPCallError) -> TCPConnectionID {
        let options = options ?? configuration.defaultConnectionOptions
        let localPort: UInt16
        var reused: TCPTimeWaitTable.Entry? = nil
        if let port {
            let tuple = TCPFourTuple(local: TCPEndpoint(address: localAddress, port: port), remote: remote)
            guard byTuple[tuple] == nil else { throw .addressInUse(tuple.local) }
            if let entry = timeWait[tuple] {
                guard isReusable(entry, now: now) else { throw .addressInUse(tuple.local) }
                reused = entry
            }
            localPort = port
        } else {
            (localPort, reused) = try ephemeralPort(from: localAddress, to: remote, now: now)
        }
        let local = TCPEndpoint(address: localAddress, port: localPort)
        let connection = TCPConnection(configuration: configuration, options: options, local: local,
                                       remote: remote, secrets: sequenceNumbers)
        try connection.connect(to: remote, now: now)
        if let reused {
            // Our own TIME-WAIT reused for an active open (like Linux's
            // tcp_tw_reuse): timestamps keep old duplicates out (PAWS at the
            // peer), and the new ISS lies beyond the old sequence space.
            timeWait.remove(reused.tuple)
            statistics.timeWaitReused += 1
            connection.raiseInitialSequence(above: reused.sendNext)
        }
        let slot = insert(connection)
        statistics.connectionsOpened += 1
        markDirty(slot)
        return id(of: slot)
    }

    /// RFC 6056 algorithm 3: a keyed-hash offset per destination plus a
    /// counter, the first candidate whose 4-tuple is free wins.
    /// A free port first; when a candidate's 4-tuple is in a TIME-WAIT entry
    /// that may be reused (RFC 6191 conditions), only a few more candidates
    /// are tried for a free one before it is taken. Ports are handed out in
    /// counter order, so once the whole range sits in TIME-WAIT the candidate
    /// at the counter is the oldest entry: the search stays short instead of
    /// scanning the whole range on every connect.
    private func ephemeralPort(from localAddress: IPv4Address, to remote: TCPEndpoint,
                               now: TCPInstant) throws(TCPCallError) -> (UInt16, TCPTimeWaitTable.Entry?) {
        let range = configuration.ephemeralPorts
        let size = UInt32(range.upperBound - range.lowerBound) + 1
        let offset = UInt32(truncatingIfNeeded: portKey.hash(
            UInt64(localAddress.value) << 32 | UInt64(remote.address.value), UInt64(remote.port)))
        var reusable: (entry: TCPTimeWaitTable.Entry, attempt: UInt32)? = nil
        for attempt in 0..<size {
            if let found = reusable, attempt - found.attempt > Self.freePortLookahead { break }
            statistics.ephemeralPortProbes += 1
            let candidate = UInt16(UInt32(range.lowerBound) + (offset &+ ephemeralCounter &+ attempt) % size)
            let tuple = TCPFourTuple(local: TCPEndpoint(address: localAddress, port: candidate), remote: remote)
            if byTuple[tuple] != nil { continue }
            if listenerByEndpoint[tuple.local] != nil
                || listenerByEndpoint[TCPEndpoint(address: .any, port: candidate)] != nil { continue }
            if let entry = timeWait[tuple] {
                if reusable == nil && isReusable(entry, now: now) { reusable = (entry, attempt) }
                continue
            }
            ephemeralCounter &+= attempt + 1
            return (candidate, nil)
        }
        if let found = reusable {
            ephemeralCounter &+= found.attempt + 1
            return (found.entry.tuple.local.port, found.entry)
        }
        throw .noEphemeralPort
    }

    /// Candidates tried for a free port after a reusable TIME-WAIT entry was found.
    static let freePortLookahead: UInt32 = 8

    /// A TIME-WAIT entry of ours may be reused after one second when the
    /// connection used timestamps.
    private func isReusable(_ entry: TCPTimeWaitTable.Entry, now: TCPInstant) -> Bool {
        guard entry.timestampsEnabled else { return false }
        let enteredAt = entry.expires.microseconds - (configuration.maximumSegmentLifetime * 2).microseconds
        return now.microseconds >= enteredAt + 1_000_000
    }

    private func insert(_ connection: TCPConnection) -> Int32 {
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
        return slot
    }

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

    // MARK: Segments in

    /// A TCP segment for one of our addresses (checksum already verified).
    public func handle(segment: TCPRepr, payload: UnsafeRawBufferPointer, source: IPv4Address,
                       destination: IPv4Address, now: TCPInstant) {
        statistics.segmentsReceived += 1
        let tuple = TCPFourTuple(local: TCPEndpoint(address: destination, port: segment.destinationPort),
                                 remote: TCPEndpoint(address: source, port: segment.sourcePort))
        if let slot = byTuple[tuple], let connection = slots[Int(slot)] {
            connection.handle(segment: segment, payload: payload, source: source, destination: destination, now: now)
            markDirty(slot)
            return
        }
        var reuseAbove: TCPSequenceNumber? = nil
        if let entry = timeWait[tuple] {
            guard let reuse = handleInTimeWait(entry, segment: segment, payloadLength: payload.count, now: now) else { return }
            reuseAbove = reuse
        }
        if let index = listenerByEndpoint[tuple.local] ?? listenerByEndpoint[TCPEndpoint(address: .any, port: tuple.local.port)] {
            handleForListener(Int(index), tuple: tuple, segment: segment, payload: payload, reuseAbove: reuseAbove, now: now)
            return
        }
        statistics.resetsForClosedPorts += segment.flags.contains(.rst) ? 0 : 1
        queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count, source: source, destination: destination))
    }

    /// TIME-WAIT (RFC 9293 3.10.7.4 for TIME-WAIT, RFC 1337, RFC 6191).
    /// Returns the old SND.NXT when a SYN may reopen the 4-tuple.
    private func handleInTimeWait(_ entry: TCPTimeWaitTable.Entry, segment: TCPRepr, payloadLength: Int,
                                  now: TCPInstant) -> TCPSequenceNumber? {
        let flags = segment.flags
        if flags.contains(.rst) { return nil }  // RFC 1337
        if flags.contains(.syn) && !flags.contains(.ack) {
            // RFC 6191: a newer timestamp (or, without timestamps, a higher
            // sequence number) proves the SYN is no old duplicate.
            let newer: Bool
            if entry.timestampsEnabled, let stamp = segment.options.timestamp {
                newer = Int32(bitPattern: stamp.value &- entry.timestampRecent) > 0
            } else {
                newer = entry.receiveNext < TCPSequenceNumber(segment.sequenceNumber)
            }
            if newer {
                timeWait.remove(entry.tuple)
                statistics.timeWaitReused += 1
                return entry.sendNext
            }
        }
        if flags.contains(.fin) || !flags.contains(.ack) || TCPSequenceNumber(segment.sequenceNumber) != entry.receiveNext
            || payloadLength > 0 {
            // Re-acknowledge (a retransmitted FIN, or anything unexpected).
            let length = payloadLength + 1
            if flags.contains(.fin) && TCPSequenceNumber(segment.sequenceNumber) + length == entry.receiveNext {
                timeWait.restart(entry.tuple, expires: now + configuration.maximumSegmentLifetime * 2)
            }
            var options = TCPOptions()
            if entry.timestampsEnabled {
                options.timestamp = (now.milliseconds32 &+ entry.timestampOffset, entry.timestampRecent)
            }
            let repr = TCPRepr(sourcePort: entry.tuple.local.port, destinationPort: entry.tuple.remote.port,
                               sequenceNumber: entry.sendNext.rawValue, acknowledgmentNumber: entry.receiveNext.rawValue,
                               flags: [.ack], window: entry.window, options: options)
            statistics.timeWaitACKs += 1
            queueControl(TCPOutgoingSegment(repr: repr, source: entry.tuple.local.address,
                                            destination: entry.tuple.remote.address))
        }
        return nil
    }

    private func handleForListener(_ index: Int, tuple: TCPFourTuple, segment: TCPRepr, payload: UnsafeRawBufferPointer,
                                   reuseAbove: TCPSequenceNumber?, now: TCPInstant) {
        let flags = segment.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) && !flags.contains(.syn) {
            if configuration.synCookies, completeCookieHandshake(index, tuple: tuple, segment: segment, payload: payload, now: now) {
                return
            }
            queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count,
                                                  source: tuple.remote.address, destination: tuple.local.address))
            return
        }
        guard flags.contains(.syn) && !flags.contains(.ack) else {
            if flags.contains(.syn) {
                queueControl(TCPConnection.resetReply(to: segment, payloadLength: payload.count,
                                                      source: tuple.remote.address, destination: tuple.local.address))
            }
            return
        }
        let listener = listeners[index]!
        if listener.acceptQueueCount >= listener.acceptBacklog {
            statistics.synsDropped += 1
            return
        }
        if listener.halfOpen >= listener.synBacklog {
            if configuration.synCookies {
                sendCookieSYNACK(listener, tuple: tuple, segment: segment, now: now)
            } else {
                statistics.synsDropped += 1
            }
            return
        }
        let connection = TCPConnection(configuration: configuration, options: listener.options,
                                       local: tuple.local, remote: tuple.remote, secrets: sequenceNumbers)
        connection.state = .listen
        connection.handle(segment: segment, payload: payload, source: tuple.remote.address,
                          destination: tuple.local.address, now: now)
        if let old = reuseAbove {
            // RFC 6191: the new incarnation's ISN must be above the old SND.NXT.
            connection.raiseInitialSequence(above: old)
        }
        let slot = insert(connection)
        slotInfo[Int(slot)].parent = Int32(index)
        slotInfo[Int(slot)].accepted = false
        listeners[index]!.halfOpen += 1
        markDirty(slot)
    }

    private func sendCookieSYNACK(_ listener: TCPListener, tuple: TCPFourTuple, segment: TCPRepr, now: TCPInstant) {
        let offered = segment.options
        let mss = UInt16(min(Int(offered.maximumSegmentSize ?? 536), configuration.localMSS))
        let scale: UInt8? = listener.options.windowScaling ? offered.windowScale : nil
        let sack = listener.options.selectiveAcknowledgments && offered.sackPermitted
        let clientISN = TCPSequenceNumber(segment.sequenceNumber)
        let isn = cookies.make(tuple: tuple, clientISN: clientISN, mss: mss, windowScale: scale, sackPermitted: sack, now: now)
        var options = TCPOptions()
        options.maximumSegmentSize = UInt16(min(configuration.localMSS, 65535))
        if scale != nil { options.windowScale = Self.windowScale(forBuffer: listener.options.receiveBufferSize) }
        options.sackPermitted = sack
        if listener.options.timestamps, let stamp = offered.timestamp {
            options.timestamp = (now.milliseconds32 &+ sequenceNumbers.timestampOffset(for: tuple), stamp.value)
        }
        let repr = TCPRepr(sourcePort: tuple.local.port, destinationPort: tuple.remote.port,
                           sequenceNumber: isn.rawValue, acknowledgmentNumber: (clientISN + 1).rawValue,
                           flags: [.syn, .ack], window: UInt16(min(listener.options.receiveBufferSize, 65535)),
                           options: options)
        statistics.synCookiesSent += 1
        queueControl(TCPOutgoingSegment(repr: repr, source: tuple.local.address, destination: tuple.remote.address))
    }

    static func windowScale(forBuffer size: Int) -> UInt8 {
        var scale: UInt8 = 0
        while scale < 14 && (size >> Int(scale)) > 65535 { scale += 1 }
        return scale
    }

    private func completeCookieHandshake(_ index: Int, tuple: TCPFourTuple, segment: TCPRepr,
                                         payload: UnsafeRawBufferPointer, now: TCPInstant) -> Bool {
        let ourISN = TCPSequenceNumber(segment.acknowledgmentNumber) - 1
        let clientISN = TCPSequenceNumber(segment.sequenceNumber) - 1
        guard let decoded = cookies.check(tuple: tuple, clientISN: clientISN, ourISN: ourISN, now: now) else {
            statistics.synCookiesRejected += 1
            return false
        }
        let listener = listeners[index]!
        guard listener.acceptQueueCount < listener.acceptBacklog else {
            statistics.synsDropped += 1
            return true  // dropped quietly; the peer retransmits
        }
        let connection = TCPConnection(configuration: configuration, options: listener.options,
                                       local: tuple.local, remote: tuple.remote, secrets: sequenceNumbers)
        connection.establishFromCookie(decoded, segment: segment, initialSendSequence: ourISN,
                                       initialReceiveSequence: clientISN, now: now)
        statistics.synCookiesAccepted += 1
        let slot = insert(connection)
        slotInfo[Int(slot)].parent = Int32(index)
        slotInfo[Int(slot)].accepted = false
        listeners[index]!.halfOpen += 1  // balanced when it moves to the accept queue
        connection.handle(segment: segment, payload: payload, source: tuple.remote.address,
                          destination: tuple.local.address, now: now)
        markDirty(slot)
        return true
    }

    private func queueControl(_ segment: TCPOutgoingSegment?) {
        guard let segment else { return }
        if controlQueue.count - controlQueueHead >= controlQueueLimit {
            statistics.controlQueueDrops += 1
            return
        }
        controlQueue.append(segment)
    }

    // MARK: Timers

    /// Fires due timers of every connection and expires TIME-WAIT entries.
    /// Scans all connections (O(n)) and recomputes the exact next deadline,
    /// so it runs once per deadline, not once per loop turn.
    public func poll(now: TCPInstant) {
        timeWait.expire(now: now)
        var earliest = timeWait.nextExpiry
        for index in slots.indices {
            guard let connection = slots[index], let deadline = connection.nextDeadline else { continue }
            if deadline <= now {
                connection.poll(now: now)
                markDirty(Int32(index))
            } else {
                earliest = earliest.earliest(deadline)
            }
        }
        cachedDeadline = earliest
    }

    /// When `poll` is next needed. O(1): a lower bound kept as connections
    /// are touched (it may be early, never late; an early `poll` only
    /// recomputes it). Touch connections only through the table's calls
    /// (`send`, `receive`, `withConnection`, ...) so that this stays true.
    public var nextDeadline: TCPInstant? { cachedDeadline }

    // MARK: Segments out, events

    /// The next segment to send, or nil when nothing is due.
    public func nextSegment(now: TCPInstant) -> TCPOutgoingSegment? {
        if controlQueueHead < controlQueue.count {
            let segment = controlQueue[controlQueueHead]
            controlQueueHead += 1
            if controlQueueHead == controlQueue.count {
                controlQueue.removeAll(keepingCapacity: true)
                controlQueueHead = 0
            }
            return segment
        }
        while dirtyCursor < dirty.count {
            let slot = dirty[dirtyCursor]
            if let connection = slots[Int(slot)], var segment = connection.nextSegment(now: now) {
                segment.connectionSlot = slot
                return segment
            }
            dirtyCursor += 1
            slotInfo[Int(slot)].isDirty = false
            settle(slot, now: now)
        }
        dirty.removeAll(keepingCapacity: true)
        dirtyCursor = 0
        return nil
    }

    /// Copies a segment's payload (from `nextSegment`, before the next call).
    public func copyPayload(of segment: TCPOutgoingSegment, to destination: UnsafeMutableRawPointer) {
        guard segment.payloadLength > 0, segment.connectionSlot >= 0,
              let connection = slots[Int(segment.connectionSlot)] else { return }
        connection.copyPayload(of: segment, to: destination)
    }

    /// IP_TTL and IP_TOS of the connection a segment belongs to (defaults
    /// for RSTs and SYN cookies, which belong to none).
    public func ipOptions(of segment: TCPOutgoingSegment) -> (timeToLive: UInt8, typeOfService: UInt8) {
        guard segment.connectionSlot >= 0, Int(segment.connectionSlot) < slots.count,
              let connection = slots[Int(segment.connectionSlot)] else { return (64, 0) }
        return (connection.options.timeToLive, connection.options.typeOfService)
    }

    /// The next event for the socket layer, or nil. Call after draining
    /// `nextSegment` (which is when connections settle).
    public func nextEvent() -> TCPTableEvent? {
        guard eventsHead < events.count else {
            events.removeAll(keepingCapacity: true)
            eventsHead = 0
            return nil
        }
        let event = events[eventsHead]
        eventsHead += 1
        return event
    }

    /// After a connection was touched and drained: hand it to its listener,
    /// move it to TIME-WAIT, free it, and report its events.
    private func settle(_ slot: Int32, now: TCPInstant) {
        guard let connection = slots[Int(slot)] else { return }
        cachedDeadline = cachedDeadline.earliest(connection.nextDeadline)
        var info = slotInfo[Int(slot)]
        if !info.accepted {
            if info.parent >= 0, !info.inAcceptQueue, connection.state != .synReceived && connection.state != .closed,
               var listener = listeners[Int(info.parent)] {
                listener.halfOpen = max(listener.halfOpen - 1, 0)
                listener.acceptQueue.append(id(of: slot))
                listener.eventsPending.insert(.acceptable)
                listeners[Int(info.parent)] = listener
                info.inAcceptQueue = true
                events.append(.listener(TCPListenerID(index: info.parent, generation: listener.generation), [.acceptable]))
            }
            if connection.state == .closed {
                if info.parent >= 0, !info.inAcceptQueue, let listener = listeners[Int(info.parent)] {
                    listeners[Int(info.parent)]!.halfOpen = max(listener.halfOpen - 1, 0)
                }
                info.released = true
            }
            slotInfo[Int(slot)] = info
        } else if connection.hasPendingEvents && !info.released {
            events.append(.connection(id(of: slot), connection.takeEvents()))
        }
        guard info.released, !connection.hasOutputPending else { return }
        if connection.state == .timeWait, let expires = connection.timeWaitDeadline {
            timeWait.insert(TCPTimeWaitTable.Entry(
                tuple: connection.tuple, sendNext: connection.sendNext, receiveNext: connection.receiveNext,
                timestampsEnabled: connection.timestampsEnabled, timestampRecent: connection.timestampRecent,
                timestampOffset: connection.timestampOffset, window: connection.announceWindowForTimeWait,
                expires: expires))
            cachedDeadline = cachedDeadline.earliest(expires)
            free(slot)
        } else if connection.state == .closed {
            free(slot)
        }
    }

    private func free(_ slot: Int32) {
        guard let connection = slots[Int(slot)] else { return }
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
}
