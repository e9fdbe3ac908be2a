import Glibc
import Stack
import SystemPackage
import Wire

/// The flags send and receive understand.
public struct MessageFlags: OptionSet, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let dontWait = MessageFlags(rawValue: Int32(MSG_DONTWAIT))
    public static let peek = MessageFlags(rawValue: Int32(MSG_PEEK))
    public static let waitAll = MessageFlags(rawValue: Int32(MSG_WAITALL))
    public static let noSignal = MessageFlags(rawValue: Int32(MSG_NOSIGNAL))
    public static let truncate = MessageFlags(rawValue: Int32(MSG_TRUNC))
    public static let outOfBand = MessageFlags(rawValue: Int32(MSG_OOB))

    static let sendFlags: MessageFlags = [.dontWait, .noSignal]
    static let receiveFlags: MessageFlags = [.dontWait, .peek, .waitAll, .truncate]
}

/// What a receive returned: bytes copied, the datagram's real length
/// (larger when it was truncated) and its source.
public struct ReceiveResult: Sendable {
    public var count: Int
    public var fullLength: Int
    /// The source as an IPv4 address (an AF_INET6 socket's IPv6 sources
    /// show here as 0.0.0.0 with the port: read `address`).
    public var source: IPv4SocketAddress?
    /// A datagram's source in the socket's family (`.v6` on AF_INET6
    /// sockets, IPv4 sources v4-mapped); nil for streams.
    public var address: InternetSocketAddress? = nil
}

extension SocketCore {
    // MARK: Send

    /// send/sendto. TCP queues as much as the send buffer takes (a blocking
    /// socket waits until all of it is queued); UDP sends one datagram.
    public func send(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [],
                     to destination: IPv4SocketAddress? = nil) throws(SocketError) -> Int {
        try send(descriptor, bytes, flags: flags, destination: destination.map { .v4($0) })
    }

    /// send/sendto with an address of either family: an AF_INET6 datagram
    /// socket takes `.v6` (and, unless IPV6_V6ONLY, `.v4` as Linux's
    /// udpv6_sendmsg does); an AF_INET one `.v4` only (EAFNOSUPPORT).
    public func send(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [],
                     destination: InternetSocketAddress?) throws(SocketError) -> Int {
        let (slot, entry) = try entry(descriptor)
        if flags.contains(.outOfBand) {
            throw SocketError(.notSupportedOnSocket, "MSG_OOB: urgent data is not supported")
        }
        guard flags.subtracting(MessageFlags.sendFlags).isEmpty else {
            throw SocketError(.invalidArgument, "send flags 0x\(String(flags.rawValue, radix: 16)): only MSG_DONTWAIT and MSG_NOSIGNAL apply to send")
        }
        switch entry.kind {
        case .datagram: return try sendDatagram(slot, entry, bytes, flags: flags, to: destination)
        case .stream: return try sendStream(entry, bytes, flags: flags, to: destination)
        }
    }

    private func sendDatagram(_ slot: Int, _ entry: SocketEntry, _ bytes: UnsafeRawBufferPointer, flags: MessageFlags,
                              to destination: InternetSocketAddress?) throws(SocketError) -> Int {
        if entry.shutWrite { throw brokenPipe(flags, "the socket was shut down for writing") }
        let chosen: InternetSocketAddress
        if let destination {
            chosen = destination
        } else if entry.family == AF_INET6, let peer = entry.remote6 {
            chosen = .v6(peer)
        } else if let peer = entry.remote {
            chosen = .v4(peer)
        } else {
            throw SocketError(.addressRequired, "the datagram socket has no peer: use sendto with an address, or connect first")
        }
        let target: IPv4SocketAddress
        switch try datagramTarget(entry, chosen) {
        case .v4(let v4): target = v4
        case .v6(let v6): return try sendDatagram6(slot, entry, bytes, flags: flags, to: v6)
        }
        if stack.isBroadcast(target.address) && !entry.options.broadcast {
            throw SocketError(.permissionDenied, "\(target.address) is a broadcast address: set SO_BROADCAST first")
        }
        try prepareDatagramSend(slot, entry, size: bytes.count)
        do {
            try stack.udpSend(entry.udp!, bytes: bytes, to: (target.address, target.port),
                              timeToLive: entry.options.timeToLive, typeOfService: entry.options.typeOfService)
        } catch {
            throw Self.sendError(error)
        }
        stack.flush()
        return bytes.count
    }

    /// What every datagram send checks and does before the stack sends it
    /// (either family): the size (EMSGSIZE), a bound port (autobind), and a
    /// connected socket's pending ICMP refusal (ECONNREFUSED, as Linux).
    func prepareDatagramSend(_ slot: Int, _ entry: SocketEntry, size: Int) throws(SocketError) {
        guard size <= NetStack.maximumUDPPayload else {
            throw SocketError(.messageTooLong, "a UDP datagram carries at most \(NetStack.maximumUDPPayload) bytes, not \(size)")
        }
        guard size <= entry.options.sendBufferSize else {
            throw SocketError(.messageTooLong, "the datagram (\(size) bytes) is larger than SO_SNDBUF (\(entry.options.sendBufferSize))")
        }
        try autobind(slot, entry)
        if entry.remote != nil, let error = try? stack.udpTakeError(entry.udp!), error.kind == .connectionRefused {
            throw SocketError(.connectionRefused, error.description)
        }
    }

    /// The errno of a failed UDP send (as Linux's udp_sendmsg gives them).
    static func sendError(_ error: StackError) -> SocketError {
        switch error.kind {
        case .noBuffers:
            return SocketError(.noBufferSpace, "\(error.description)")
        case .networkUnreachable, .noRoute, .hostUnreachable:
            return SocketError(.networkUnreachable, error.description)
        case .messageTooLong:
            return SocketError(.messageTooLong, error.description)
        default:
            return SocketError(.invalidArgument, error.description)
        }
    }

    /// EPIPE, with SIGPIPE raised unless MSG_NOSIGNAL (or the core is set not to).
    func brokenPipe(_ flags: MessageFlags, _ why: String) -> SocketError {
        if configuration.raisesSIGPIPE && !flags.contains(.noSignal) { raise(SIGPIPE) }
        return SocketError(.brokenPipe, "\(why): nothing more can be sent")
    }

    private func sendStream(_ entry: SocketEntry, _ bytes: UnsafeRawBufferPointer, flags: MessageFlags,
                            to destination: InternetSocketAddress?) throws(SocketError) -> Int {
        if destination != nil {
            if entry.connection != nil {
                throw SocketError(.socketIsConnected, "sendto with an address on a connected SOCK_STREAM socket: use send")
            }
            throw SocketError(.socketNotConnected, "sendto on an unconnected SOCK_STREAM socket: connect first")
        }
        if entry.shutWrite { throw brokenPipe(flags, "the socket was shut down for writing") }
        guard let id = entry.connection else {
            throw SocketError(.socketNotConnected, "the socket is not connected: connect (or accept) first")
        }
        if let error = takeConnectionError(entry) { throw error }
        if entry.connectionEnded { throw brokenPipe(flags, "the connection has ended") }
        let nonBlocking = entry.nonBlocking || flags.contains(.dontWait)
        var sent = 0
        while true {
            switch stack.tcpSend(id, UnsafeRawBufferPointer(rebasing: bytes[sent...])) {
            case .unknown:
                throw brokenPipe(flags, "the connection has ended")
            case .notYetOpen:
                break
            case .queued(let count):
                sent += count
                if sent == bytes.count { return sent }
            case .closed(let state):
                if let failure = takeConnectionError(entry) {
                    if sent > 0 { return sent }
                    throw failure
                }
                if sent > 0 { return sent }
                throw brokenPipe(flags, "the connection is closing (\(state))")
            }
            if nonBlocking {
                if sent > 0 { return sent }
                throw SocketError(.resourceTemporarilyUnavailable, "the send buffer is full (or the connection is not yet established)")
            }
            do {
                try block(timeoutNanoseconds: entry.options.sendTimeout, "send") { () throws(SocketError) -> Bool in
                    guard let status = stack.tcpStatus(id) else { return true }
                    switch status.state.phase {
                    case .opening: return false
                    case .open: return status.sendSpace > 0 || status.failure != nil
                    case .closing, .closed: return true
                    }
                }
            } catch {
                if sent > 0 { return sent }
                throw error
            }
        }
    }

    /// writev/sendmsg with several buffers on a SOCK_STREAM socket: the
    /// buffers are queued in order and TCP's output runs once for all of
    /// them. A blocking socket queues them all (as `send` does each); a
    /// non-blocking one queues what the send buffer takes (EAGAIN when none).
    /// Datagram sockets send one buffer per datagram: EOPNOTSUPP here.
    public func send(_ descriptor: Int32, gathering buffers: UnsafeBufferPointer<UnsafeRawBufferPointer>,
                     flags: MessageFlags = []) throws(SocketError) -> Int {
        let (_, entry) = try entry(descriptor)
        guard flags.subtracting(MessageFlags.sendFlags).isEmpty else {
            throw SocketError(.invalidArgument, "send flags 0x\(String(flags.rawValue, radix: 16)): only MSG_DONTWAIT and MSG_NOSIGNAL apply to send")
        }
        guard entry.kind == .stream else {
            throw SocketError(.notSupportedOnSocket, "a gathered send is for SOCK_STREAM sockets: send each datagram on its own")
        }
        guard entry.nonBlocking || flags.contains(.dontWait) else {
            var total = 0
            for bytes in buffers { total += try sendStream(entry, bytes, flags: flags, to: nil) }
            return total
        }
        if entry.shutWrite { throw brokenPipe(flags, "the socket was shut down for writing") }
        guard let id = entry.connection else {
            throw SocketError(.socketNotConnected, "the socket is not connected: connect (or accept) first")
        }
        if let error = takeConnectionError(entry) { throw error }
        if entry.connectionEnded { throw brokenPipe(flags, "the connection has ended") }
        switch stack.tcpSend(id, gathering: buffers) {
        case .unknown:
            throw brokenPipe(flags, "the connection has ended")
        case .notYetOpen:
            throw SocketError(.resourceTemporarilyUnavailable, "the connection is not yet established")
        case .queued(let count):
            if count == 0 && buffers.contains(where: { !$0.isEmpty }) {
                throw SocketError(.resourceTemporarilyUnavailable, "the send buffer is full")
            }
            return count
        case .closed(let state):
            if let failure = takeConnectionError(entry) { throw failure }
            throw brokenPipe(flags, "the connection is closing (\(state))")
        }
    }

    // MARK: Receive

    /// recv/recvfrom. Returns 0 at the end of a TCP stream (the peer's
    /// orderly shutdown, or after our SHUT_RD).
    public func receive(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer,
                        flags: MessageFlags = []) throws(SocketError) -> ReceiveResult {
        let (_, entry) = try entry(descriptor)
        guard flags.subtracting(MessageFlags.receiveFlags).isEmpty else {
            throw SocketError(.invalidArgument, "receive flags 0x\(String(flags.rawValue, radix: 16)): MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL and MSG_TRUNC apply")
        }
        switch entry.kind {
        case .datagram: return try receiveDatagram(entry, into: buffer, flags: flags)
        case .stream: return try receiveStream(entry, into: buffer, flags: flags)
        }
    }

    /// Drops queued datagrams that are not from the connected peer.
    func filterQueued(_ entry: SocketEntry) {
        guard entry.remote != nil, let udp = entry.udp else { return }
        if let peeked = entry.peeked, !isFromPeer(entry, peeked) {
            peeked.payload.free()
            entry.peeked = nil
        }
        var keep: [ReceivedDatagram] = []
        while let datagram = try? stack.udpReceive(udp) {
            if isFromPeer(entry, datagram) { keep.append(datagram) } else { datagram.payload.free() }
        }
        if entry.peeked == nil, !keep.isEmpty { entry.peeked = keep.removeFirst() }
        // More than one datagram from the peer queued before connect is rare;
        // those beyond the first are dropped like a full queue would.
        for datagram in keep { datagram.payload.free() }
    }

    func nextDatagram(_ entry: SocketEntry) -> ReceivedDatagram? {
        if let peeked = entry.peeked { return peeked }
        guard let udp = entry.udp else { return nil }
        while let datagram = try? stack.udpReceive(udp) {
            if entry.remote != nil, !isFromPeer(entry, datagram) {
                datagram.payload.free()
                continue
            }
            entry.peeked = datagram
            return datagram
        }
        return nil
    }

    private func receiveDatagram(_ entry: SocketEntry, into buffer: UnsafeMutableRawBufferPointer,
                                 flags: MessageFlags) throws(SocketError) -> ReceiveResult {
        let nonBlocking = entry.nonBlocking || flags.contains(.dontWait)
        let refused = { () -> SocketError? in
            guard entry.remote != nil, let udp = entry.udp, let error = try? self.stack.udpTakeError(udp),
                  error.kind == .connectionRefused else { return nil }
            return SocketError(.connectionRefused, error.description)
        }
        if nextDatagram(entry) == nil {
            if let error = refused() { throw error }
            if entry.shutRead { return ReceiveResult(count: 0, fullLength: 0, source: nil) }
            if nonBlocking {
                throw SocketError(.resourceTemporarilyUnavailable, "no datagram is waiting")
            }
            try block(timeoutNanoseconds: entry.options.receiveTimeout, "recv") { () throws(SocketError) -> Bool in
                if nextDatagram(entry) != nil || entry.shutRead { return true }
                if let error = refused() { throw error }
                return false
            }
            guard nextDatagram(entry) != nil else { return ReceiveResult(count: 0, fullLength: 0, source: nil) }
        }
        let datagram = entry.peeked!
        let count = min(buffer.count, datagram.length)
        if count > 0 { _ = datagram.payload.copyBytes(from: 0, count: count, to: buffer.baseAddress!) }
        let result = ReceiveResult(count: flags.contains(.truncate) ? datagram.length : count, fullLength: datagram.length,
                                   source: IPv4SocketAddress(datagram.source, datagram.sourcePort),
                                   address: sourceName(entry, datagram))
        if !flags.contains(.peek) {
            datagram.payload.free()
            entry.peeked = nil
        }
        return result
    }

    private func receiveStream(_ entry: SocketEntry, into buffer: UnsafeMutableRawBufferPointer,
                               flags: MessageFlags) throws(SocketError) -> ReceiveResult {
        if entry.shutRead { return ReceiveResult(count: 0, fullLength: 0, source: nil) }
        guard let id = entry.connection else {
            throw SocketError(.socketNotConnected, "the socket is not connected: connect (or accept) first")
        }
        let nonBlocking = entry.nonBlocking || flags.contains(.dontWait)
        var received = 0
        let peek = flags.contains(.peek)
        while true {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[received...])
            guard let (copied, status) = stack.tcpReceive(id, into: rest, peek: peek) else {
                return ReceiveResult(count: received, fullLength: received, source: entry.remote)
            }
            if copied > 0 {
                received += copied
                if peek || !flags.contains(.waitAll) || received == buffer.count {
                    return ReceiveResult(count: received, fullLength: received, source: entry.remote)
                }
            }
            let closed = status.state.phase == .closed
            if received > 0 && (status.isAtEndOfStream || closed) {
                return ReceiveResult(count: received, fullLength: received, source: entry.remote)
            }
            if status.isAtEndOfStream { return ReceiveResult(count: 0, fullLength: 0, source: entry.remote) }
            if let error = takeConnectionError(entry) {
                if received > 0 { return ReceiveResult(count: received, fullLength: received, source: entry.remote) }
                throw error
            }
            if closed || entry.connectionEnded {
                return ReceiveResult(count: received, fullLength: received, source: entry.remote)
            }
            if buffer.count == 0 { return ReceiveResult(count: 0, fullLength: 0, source: entry.remote) }
            if nonBlocking {
                if received > 0 { return ReceiveResult(count: received, fullLength: received, source: entry.remote) }
                throw SocketError(.resourceTemporarilyUnavailable, "no data is waiting")
            }
            do {
                try block(timeoutNanoseconds: entry.options.receiveTimeout, "recv") { () throws(SocketError) -> Bool in
                    guard let status = stack.tcpStatus(id) else { return true }
                    return status.bytesReadable > 0 || status.isAtEndOfStream || status.state.phase == .closed
                        || entry.shutRead
                }
            } catch {
                if received > 0 { return ReceiveResult(count: received, fullLength: received, source: entry.remote) }
                throw error
            }
            if entry.shutRead { return ReceiveResult(count: received, fullLength: received, source: entry.remote) }
        }
    }

    // MARK: Shutdown

    /// shutdown(SHUT_RD / SHUT_WR / SHUT_RDWR).
    public func shutdown(_ descriptor: Int32, how: Int32) throws(SocketError) {
        let (slot, entry) = try entry(descriptor)
        guard how == Int32(SHUT_RD) || how == Int32(SHUT_WR) || how == Int32(SHUT_RDWR) else {
            throw SocketError(.invalidArgument, "how = \(how): use SHUT_RD, SHUT_WR or SHUT_RDWR")
        }
        switch entry.kind {
        case .stream:
            guard let id = entry.connection, !entry.connecting || stack.tcpStatus(id)?.state.phase != .closed else {
                throw SocketError(.socketNotConnected, "the socket is not connected")
            }
            if how != Int32(SHUT_RD) {
                stack.tcpShutdownWrite(id)
                entry.shutWrite = true
            }
        case .datagram:
            guard entry.remote != nil else {
                throw SocketError(.socketNotConnected, "the datagram socket is not connected")
            }
            if how != Int32(SHUT_RD) { entry.shutWrite = true }
        }
        if how != Int32(SHUT_WR) { entry.shutRead = true }
        stack.flush()  // the FIN leaves now, not at the next poll step
        wake(slot)
    }
}
