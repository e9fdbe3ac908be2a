import TCP
import Wire

/// The socket layer's way into TCP: open, listen, accept, send, receive,
/// shut down, abort, release, options and status, each with one table
/// lookup, and each sending what it made TCP emit (a SYN, data, a window
/// update, a FIN) before it returns, so callers never run TCP by hand.
/// The endpoint table itself stays internal to the stack.
extension NetStack {
    // MARK: Opening

    /// Passive open on `address:port` (`.any` for every local address).
    public func tcpListen(address: IPv4Address, port: UInt16, backlog: Int,
                          options: TCPStreamOptions) throws(TCPOpenError) -> TCPListenerHandle {
        do {
            let id = try tcp.listen(on: TCPEndpoint(address: address, port: port), backlog: backlog,
                                    options: options.connectionOptions)
            return TCPListenerHandle(id: id)
        } catch {
            throw TCPOpenError(error)
        }
    }

    /// Active open from `source` (port chosen from the ephemeral range
    /// unless given) to `address:port`; the SYN is sent before it returns.
    public func tcpConnect(from source: IPv4Address, port: UInt16?, to address: IPv4Address, port remotePort: UInt16,
                           options: TCPStreamOptions) throws(TCPOpenError) -> (TCPStreamHandle, TCPStreamStatus) {
        try tcpConnect(from: IPv6Address(ipv4Mapped: source), port: port, to: IPv6Address(ipv4Mapped: address),
                       port: remotePort, options: options)
    }

    /// As above for either family (IPv4 v4-mapped; the ephemeral port is
    /// steered to this core when the stack has cores, by the IPv4 or the
    /// TCPv6 4-tuple).
    public func tcpConnect(from source: IPv6Address, port: UInt16?, to address: IPv6Address, port remotePort: UInt16,
                           options: TCPStreamOptions) throws(TCPOpenError) -> (TCPStreamHandle, TCPStreamStatus) {
        let id: TCPConnectionID
        if port == nil, let steering = flowSteering, !source.isUnspecified {
            id = try connectSteered(steering, from: source, to: address, port: remotePort, options: options)
        } else {
            do {
                id = try tcp.connect(from: source, port: port, to: TCPEndpoint(address: address, port: remotePort),
                                     options: options.connectionOptions, now: tcpNow)
            } catch {
                throw TCPOpenError(error)
            }
        }
        // The table has just made it: the lookup cannot fail.
        let status = TCPStreamStatus(tcp.connection(id)!)
        runTCP()
        return (TCPStreamHandle(id: id), status)
    }

    /// An active open on several cores: the ephemeral port is one whose
    /// replies hash to this stack's queue (tried from a random start, as
    /// RFC 6056's algorithm 1 spreads them), so they come back here.
    private func connectSteered(_ steering: FlowSteering, from source: IPv6Address, to address: IPv6Address,
                                port remotePort: UInt16, options: TCPStreamOptions) throws(TCPOpenError) -> TCPConnectionID {
        let range = tcp.configuration.ephemeralPorts
        var offset = Int.random(in: 0..<range.count)
        for _ in 0..<range.count {
            let port = UInt16(Int(range.lowerBound) + offset)
            offset = offset + 1 == range.count ? 0 : offset + 1
            guard steering.ownsReplies(local: source, localPort: port, remote: address, remotePort: remotePort) else { continue }
            do {
                return try tcp.connect(from: source, port: port, to: TCPEndpoint(address: address, port: remotePort),
                                       options: options.connectionOptions, now: tcpNow)
            } catch {
                if case .addressInUse = error { continue }
                throw TCPOpenError(error)
            }
        }
        throw .noEphemeralPort
    }

    /// The next established connection of a listener, with its status.
    public func tcpAccept(_ listener: TCPListenerHandle) -> (TCPStreamHandle, TCPStreamStatus)? {
        guard let id = tcp.accept(listener.id), let connection = tcp.connection(id) else { return nil }
        return (TCPStreamHandle(id: id), TCPStreamStatus(connection))
    }

    /// Connections waiting in a listener's accept queue.
    public func tcpAcceptQueueLength(_ listener: TCPListenerHandle) -> Int {
        tcpTable.map { $0.acceptQueueLength(listener.id) } ?? 0
    }

    // MARK: Data

    /// Queues bytes for sending (as many as the send buffer takes) and sends
    /// what the windows allow.
    public func tcpSend(_ stream: TCPStreamHandle, _ bytes: UnsafeRawBufferPointer) -> TCPSendResult {
        let result = (try? tcp.withConnection(stream.id) { connection -> TCPSendResult in
            switch connection.state {
            case .synSent, .synReceived:
                return .notYetOpen
            case .established, .closeWait:
                do { return .queued(try connection.send(bytes)) } catch { return .closed(TCPStreamState(state: connection.state)) }
            default:
                return .closed(TCPStreamState(state: connection.state))
            }
        }) ?? .unknown
        if case .queued = result { runTCP() }
        return result
    }

    /// Queues `buffers` in order without copying them (the send ring keeps
    /// each until its bytes are acknowledged, then calls its `release`;
    /// TCPBorrowedBytes) and sends what the windows allow, once. Of a buffer
    /// the ring has no room for whole, it keeps the prefix that fits (and
    /// owns its release), and queueing stops there. `borrowed`: how many
    /// buffers, from the first, the ring now owns (in whole or in part);
    /// the others are still the caller's.
    public func tcpSend(_ stream: TCPStreamHandle, borrowing buffers: UnsafeBufferPointer<TCPBorrowedBytes>)
        -> (result: TCPSendResult, borrowed: Int) {
        var borrowed = 0
        let result = (try? tcp.withConnection(stream.id) { connection -> TCPSendResult in
            switch connection.state {
            case .synSent, .synReceived:
                return .notYetOpen
            case .established, .closeWait:
                var total = 0
                for buffer in buffers {
                    if buffer.bytes.isEmpty { break }  // "from the first": an empty one ends the list
                    // Lent whole, or the prefix that fits (the ring then owns
                    // the release; the caller lends the rest later): never copied.
                    let taken = (try? connection.send(lendingPrefixOf: buffer)) ?? 0
                    if taken > 0 {
                        borrowed += 1
                        total += taken
                        if taken < buffer.bytes.count { break }
                        continue
                    }
                    // No chunk header to be had (the core's budget): copy what fits.
                    if let count = try? connection.send(buffer.bytes) { total += count }
                    break
                }
                return .queued(total)
            default:
                return .closed(TCPStreamState(state: connection.state))
            }
        }) ?? .unknown
        if case .queued = result { runTCP() }
        return (result, borrowed)
    }

    /// Queues `buffers` in order (as many bytes as the send buffer takes) and
    /// then sends what the windows allow, once: writev's semantics, so small
    /// pieces (an HTTP head and body) leave together, not a segment each.
    public func tcpSend(_ stream: TCPStreamHandle, gathering buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>) -> TCPSendResult {
        let result = (try? tcp.withConnection(stream.id) { connection -> TCPSendResult in
            switch connection.state {
            case .synSent, .synReceived:
                return .notYetOpen
            case .established, .closeWait:
                var total = 0
                for bytes in buffers {
                    guard let count = try? connection.send(bytes) else {
                        return total > 0 ? .queued(total) : .closed(TCPStreamState(state: connection.state))
                    }
                    total += count
                    if count < bytes.count { break }  // the send buffer is full
                }
                return .queued(total)
            default:
                return .closed(TCPStreamState(state: connection.state))
            }
        }) ?? .unknown
        if case .queued = result { runTCP() }
        return result
    }

    /// Copies readable bytes into `buffer` (removing them unless `peek`) and
    /// returns how many, with the connection's status after the copy; nil
    /// when the handle names no connection. A read that opens the window
    /// sends the window update before it returns.
    public func tcpReceive(_ stream: TCPStreamHandle, into buffer: UnsafeMutableRawBufferPointer,
                           peek: Bool = false) -> (count: Int, status: TCPStreamStatus)? {
        let result = try? tcp.withConnection(stream.id) { connection -> (count: Int, status: TCPStreamStatus) in
            var count = 0
            if buffer.count > 0 && connection.bytesReadable > 0 {
                count = peek ? connection.peekReceived(into: buffer) : (try? connection.receive(into: buffer)) ?? 0
            }
            return (count, TCPStreamStatus(connection))
        }
        if let result, result.count > 0, !peek { runTCP() }
        return result
    }

    // MARK: Status and options

    /// The connection's state, buffers, addresses and error; nil once released and freed.
    public func tcpStatus(_ stream: TCPStreamHandle) -> TCPStreamStatus? {
        tcpTable?.connection(stream.id).map(TCPStreamStatus.init)
    }

    /// Hands new socket options to a live connection (TCP_NODELAY, keepalive,
    /// TCP_CONGESTION, TTL/TOS; buffer sizes stay as opened).
    public func tcpSetOptions(_ stream: TCPStreamHandle, _ options: TCPStreamOptions) {
        try? tcp.setOptions(stream.id, options.connectionOptions, now: tcpNow)
        runTCP()
    }

    /// The ephemeral port range of active opens and autobind.
    public var tcpEphemeralPorts: ClosedRange<UInt16> { tcp.configuration.ephemeralPorts }

    /// The MSS this stack announces (TCP_MAXSEG before a handshake).
    public var tcpLocalMSS: Int { tcp.configuration.localMSS }

    // MARK: Closing

    /// shutdown(SHUT_WR): a FIN follows the queued data, sent now if it can be.
    public func tcpShutdownWrite(_ stream: TCPStreamHandle) {
        try? tcp.shutdownWrite(stream.id)
        runTCP()
    }

    /// Resets the connection (SO_LINGER with 0 seconds).
    public func tcpAbort(_ stream: TCPStreamHandle) {
        tcp.abort(stream.id)
        runTCP()
    }

    /// close(): the socket gives up the handle; the connection finishes on
    /// its own (FIN, TIME-WAIT, or RST when unread data is left).
    public func tcpRelease(_ stream: TCPStreamHandle) {
        tcp.release(stream.id, now: tcpNow)
        runTCP()
    }

    /// Stops listening; children not yet accepted are reset.
    public func tcpCloseListener(_ listener: TCPListenerHandle) {
        tcp.closeListener(listener.id, now: tcpNow)
        runTCP()
    }
}

/// The numbers operators and tools read (stats JSON, dp-tcp-check).
extension NetStack {
    public var tcpStatistics: TCPTableStatistics { tcpTable?.statistics ?? TCPTableStatistics() }
    public var tcpConnectionCount: Int { tcpTable?.connectionCount ?? 0 }
    public var tcpTimeWaitCount: Int { tcpTable?.timeWaitCount ?? 0 }
    /// Bytes of ring chunks held by connections now, and taken from the system (cached ones too).
    public var tcpRingMemory: (inUse: Int, fromSystem: Int) {
        (tcpTable?.chunkCache.bytesInUse ?? 0, tcpTable?.chunkCache.systemBytes ?? 0)
    }
    /// Takes ring chunks from the system now so rings can hold `bytes`
    /// (in `TCPConfiguration.ringChunkSize` chunks) without an allocation
    /// later (`TCPChunkCache.reserve`).
    public func reserveTCPRingMemory(bytes: Int) {
        let cache = tcp.chunkCache
        cache.reserve(chunks: (bytes + cache.chunkSize - 1) / cache.chunkSize)
    }

    /// Counters of live connections plus those already freed.
    public var tcpConnectionTotals: TCPConnectionStatistics { tcpTable?.connectionTotals ?? TCPConnectionStatistics() }

    /// One connection's counters (keepalive probes, retransmissions, ...).
    public func tcpConnectionStatistics(_ stream: TCPStreamHandle) -> TCPConnectionStatistics? {
        tcpTable?.connection(stream.id)?.statistics
    }
}
