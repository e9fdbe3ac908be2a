import Glibc
import Stack
import SystemPackage
import TCP

extension SocketCore {
    /// setsockopt(): `value` holds the option's C value (an int, a timeval,
    /// a linger).
    public func setOption(_ descriptor: Int32, level: Int32, name: Int32, value: UnsafeRawBufferPointer) throws(SocketError) {
        let (_, entry) = try entry(descriptor)
        func int() throws(SocketError) -> Int32 {
            guard value.count >= MemoryLayout<Int32>.size else {
                throw SocketError(.invalidArgument, "option \(name) takes an int: value length \(value.count) < \(MemoryLayout<Int32>.size)")
            }
            return value.loadUnaligned(as: Int32.self)
        }
        func timeout() throws(SocketError) -> UInt64 {
            guard value.count >= MemoryLayout<timeval>.size else {
                throw SocketError(.invalidArgument, "option \(name) takes a struct timeval: value length \(value.count) < \(MemoryLayout<timeval>.size)")
            }
            let time = value.loadUnaligned(as: timeval.self)
            guard time.tv_usec >= 0, time.tv_usec < 1_000_000 else {
                throw SocketError(.outOfDomain, "tv_usec \(time.tv_usec) is outside 0..<1000000")
            }
            guard time.tv_sec >= 0 else { return 0 }  // negative: no timeout, as Linux
            // Nanoseconds must fit 63 bits (about 292 years).
            guard time.tv_sec < Int(Int64.max / 1_000_000_000) - 1 else {
                throw SocketError(.outOfDomain, "timeout of \(time.tv_sec) s is too large for the socket's timeout field")
            }
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_usec) * 1000
        }
        func bufferSize() throws(SocketError) -> Int {
            let requested = Int(max(try int(), 0))
            // As Linux: doubled for bookkeeping, clamped to the maximum, at least 2 KiB.
            return min(max(requested * 2, 2048), configuration.maximumBufferSize)
        }
        switch (level, name) {
        case (SOL_SOCKET, SO_REUSEADDR): entry.options.reuseAddress = try int() != 0
        case (SOL_SOCKET, SO_REUSEPORT): entry.options.reusePort = try int() != 0
        case (SOL_SOCKET, SO_RCVBUF), (SOL_SOCKET, SO_SNDBUF):
            let size = try bufferSize()
            let old = name == SO_RCVBUF ? entry.options.receiveBufferSize : entry.options.sendBufferSize
            guard reservedBytes - old + size <= configuration.bufferBudgetBytes else {
                throw SocketError(.noMemory, "\(size) bytes of buffer exceed core \(coreID)'s remaining budget of \(configuration.bufferBudgetBytes - reservedBytes + old)")
            }
            reservedBytes += size - old
            entry.reservedBytes += size - old
            if name == SO_RCVBUF { entry.options.receiveBufferSize = size } else { entry.options.sendBufferSize = size }
        case (SOL_SOCKET, SO_RCVTIMEO): entry.options.receiveTimeout = try timeout()
        case (SOL_SOCKET, SO_SNDTIMEO): entry.options.sendTimeout = try timeout()
        case (SOL_SOCKET, SO_KEEPALIVE): entry.options.keepAlive = try int() != 0
        case (SOL_SOCKET, SO_BROADCAST): entry.options.broadcast = try int() != 0
        case (SOL_SOCKET, SO_LINGER):
            guard value.count >= MemoryLayout<linger>.size else {
                throw SocketError(.invalidArgument, "SO_LINGER takes a struct linger: value length \(value.count) < \(MemoryLayout<linger>.size)")
            }
            let linger = value.loadUnaligned(as: linger.self)
            entry.options.lingerOn = linger.l_onoff != 0
            entry.options.lingerSeconds = max(linger.l_linger, 0)
        case (SOL_SOCKET, SO_ERROR), (SOL_SOCKET, SO_TYPE), (SOL_SOCKET, SO_ACCEPTCONN):
            throw SocketError(.protocolNotAvailable, "option \(name) can only be read (getsockopt)")
        case (Int32(IPPROTO_IP), IP_TTL):
            let ttl = try int()
            guard ttl == -1 || (1...255).contains(ttl) else {
                throw SocketError(.invalidArgument, "IP_TTL \(ttl): use 1...255 (or -1 for the default 64)")
            }
            entry.options.timeToLive = ttl == -1 ? 64 : UInt8(ttl)
        case (Int32(IPPROTO_IP), IP_TOS):
            entry.options.typeOfService = UInt8(truncatingIfNeeded: try int())
        case (Int32(IPPROTO_TCP), _):
            guard entry.kind == .stream else {
                throw SocketError(.protocolNotAvailable, "IPPROTO_TCP options apply to SOCK_STREAM sockets only")
            }
            try checkTCPLevel(entry)
            let v = try int()
            switch name {
            case TCP_NODELAY: entry.options.noDelay = v != 0
            case TCP_MAXSEG:
                if let id = entry.connection, stack.tcp.connection(id)?.state.isSynchronized == true {
                    throw SocketError(.socketIsConnected, "TCP_MAXSEG is negotiated in the handshake: set it before connect or listen")
                }
                guard v == 0 || (88...65535).contains(v) else {
                    throw SocketError(.invalidArgument, "TCP_MAXSEG \(v): use 88...65535 (0 for the MTU's)")
                }
                entry.options.maximumSegmentSize = v == 0 ? nil : Int(v)
            case TCP_KEEPIDLE, TCP_KEEPINTVL:
                guard (1...32767).contains(v) else { throw SocketError(.invalidArgument, "\(v) s: use 1...32767") }
                if name == TCP_KEEPIDLE { entry.options.keepAliveIdleSeconds = Int(v) } else { entry.options.keepAliveIntervalSeconds = Int(v) }
            case TCP_KEEPCNT:
                guard (1...127).contains(v) else { throw SocketError(.invalidArgument, "TCP_KEEPCNT \(v): use 1...127") }
                entry.options.keepAliveCount = Int(v)
            default:
                throw SocketError(.protocolNotAvailable, "IPPROTO_TCP option \(name) is not supported")
            }
        case (SOL_SOCKET, _), (Int32(IPPROTO_IP), _):
            throw SocketError(.protocolNotAvailable, "option \(name) at level \(level) is not supported")
        default:
            throw SocketError(.protocolNotAvailable, "level \(level) is not supported: use SOL_SOCKET, IPPROTO_IP or IPPROTO_TCP")
        }
        applyOptions(entry)
    }

    /// IPPROTO_TCP options are refused once the connection is shut down both ways (EINVAL).
    private func checkTCPLevel(_ entry: SocketEntry) throws(SocketError) {
        if entry.shutRead && entry.shutWrite || entry.connectionEnded {
            throw SocketError(.invalidArgument, "the socket has been shut down: its TCP options no longer apply")
        }
    }

    /// Hands run-time options to a live connection.
    private func applyOptions(_ entry: SocketEntry) {
        guard let id = entry.connection else { return }
        try? stack.tcp.withConnection(id) { connection in connection.setOptions(entry.options.tcp, now: stack.tcpNow) }
        stack.runTCP()
    }

    /// getsockopt(): writes up to `value.count` bytes (silently truncated)
    /// and returns the option's full length; the C API writes back the
    /// smaller of the two.
    public func getOption(_ descriptor: Int32, level: Int32, name: Int32,
                          into value: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let (_, entry) = try entry(descriptor)
        var int: Int32?
        var bytes: [UInt8]?
        func timeval(_ nanoseconds: UInt64) -> [UInt8] {
            var time = Glibc.timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1000))
            return withUnsafeBytes(of: &time) { Array($0) }
        }
        switch (level, name) {
        case (SOL_SOCKET, SO_REUSEADDR): int = entry.options.reuseAddress ? 1 : 0
        case (SOL_SOCKET, SO_REUSEPORT): int = entry.options.reusePort ? 1 : 0
        case (SOL_SOCKET, SO_RCVBUF): int = Int32(entry.options.receiveBufferSize)
        case (SOL_SOCKET, SO_SNDBUF): int = Int32(entry.options.sendBufferSize)
        case (SOL_SOCKET, SO_RCVTIMEO): bytes = timeval(entry.options.receiveTimeout)
        case (SOL_SOCKET, SO_SNDTIMEO): bytes = timeval(entry.options.sendTimeout)
        case (SOL_SOCKET, SO_KEEPALIVE): int = entry.options.keepAlive ? 1 : 0
        case (SOL_SOCKET, SO_BROADCAST): int = entry.options.broadcast ? 1 : 0
        case (SOL_SOCKET, SO_LINGER):
            var value = linger(l_onoff: entry.options.lingerOn ? 1 : 0, l_linger: entry.options.lingerSeconds)
            bytes = withUnsafeBytes(of: &value) { Array($0) }
        case (SOL_SOCKET, SO_ERROR):
            var error = entry.pendingError
            if error == nil, entry.kind == .datagram, let udp = entry.udp, let taken = try? stack.udpTakeError(udp) {
                error = taken.kind == .connectionRefused ? .connectionRefused : .noRouteToHost
            }
            entry.pendingError = nil
            if error != nil && entry.kind == .stream { entry.connectionEnded = true }
            int = error?.rawValue ?? 0
        case (SOL_SOCKET, SO_TYPE): int = entry.kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        case (SOL_SOCKET, SO_ACCEPTCONN): int = entry.listener != nil ? 1 : 0
        case (Int32(IPPROTO_IP), IP_TTL): int = Int32(entry.options.timeToLive)
        case (Int32(IPPROTO_IP), IP_TOS): int = Int32(entry.options.typeOfService)
        case (Int32(IPPROTO_TCP), _):
            guard entry.kind == .stream else {
                throw SocketError(.protocolNotAvailable, "IPPROTO_TCP options apply to SOCK_STREAM sockets only")
            }
            try checkTCPLevel(entry)
            switch name {
            case TCP_NODELAY: int = entry.options.noDelay ? 1 : 0
            case TCP_MAXSEG:
                if let id = entry.connection, let connection = stack.tcp.connection(id), connection.state.isSynchronized {
                    int = Int32(connection.sendMSS)
                } else {
                    int = Int32(entry.options.maximumSegmentSize ?? stack.tcp.configuration.localMSS)
                }
            case TCP_KEEPIDLE: int = Int32(entry.options.keepAliveIdleSeconds)
            case TCP_KEEPINTVL: int = Int32(entry.options.keepAliveIntervalSeconds)
            case TCP_KEEPCNT: int = Int32(entry.options.keepAliveCount)
            default: throw SocketError(.protocolNotAvailable, "IPPROTO_TCP option \(name) is not supported")
            }
        case (SOL_SOCKET, _), (Int32(IPPROTO_IP), _):
            throw SocketError(.protocolNotAvailable, "option \(name) at level \(level) is not supported")
        default:
            throw SocketError(.protocolNotAvailable, "level \(level) is not supported: use SOL_SOCKET, IPPROTO_IP or IPPROTO_TCP")
        }
        if var int {
            bytes = withUnsafeBytes(of: &int) { Array($0) }
        }
        let result = bytes!
        let count = min(result.count, value.count)
        if count > 0 { value.baseAddress!.copyMemory(from: result, byteCount: count) }
        return result.count
    }
}
