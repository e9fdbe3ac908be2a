import Glibc
import Stack
import SystemPackage

extension SocketCore {
    /// setsockopt(): `value` holds the option's C value (an int, a timeval,
    /// a linger, or a name for TCP_CONGESTION).
    public func setOption(_ descriptor: Int32, level: Int32, name: Int32, value: UnsafeRawBufferPointer) throws(SocketError) {
        let (_, entry) = try entry(descriptor)
        let option = OptionValue(option: name, bytes: value)
        switch level {
        case SOL_SOCKET: try setSocketOption(entry, name, option)
        case Int32(IPPROTO_IP): try setIPOption(entry, name, option)
        case Int32(IPPROTO_TCP): try setTCPOption(entry, name, option)
        case Int32(IPPROTO_IPV6): try setIPv6Option(entry, name, option)
        default:
            throw SocketError(.protocolNotAvailable, "level \(level) is not supported: use SOL_SOCKET, IPPROTO_IP or IPPROTO_TCP")
        }
        applyOptions(entry)
    }

    private func setSocketOption(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        switch name {
        case SO_REUSEADDR: entry.options.reuseAddress = try value.int() != 0
        case SO_REUSEPORT: entry.options.reusePort = try value.int() != 0
        case SO_RCVBUF, SO_SNDBUF: try setBufferSize(entry, name, value)
        case SO_RCVTIMEO: entry.options.receiveTimeout = try value.timeout()
        case SO_SNDTIMEO: entry.options.sendTimeout = try value.timeout()
        case SO_KEEPALIVE: entry.options.keepAlive = try value.int() != 0
        case SO_BROADCAST: entry.options.broadcast = try value.int() != 0
        case SO_LINGER:
            let linger = try value.linger()
            entry.options.lingerOn = linger.l_onoff != 0
            entry.options.lingerSeconds = max(linger.l_linger, 0)
        case SO_ERROR, SO_TYPE, SO_ACCEPTCONN:
            throw SocketError(.protocolNotAvailable, "option \(name) can only be read (getsockopt)")
        default:
            throw SocketError(.protocolNotAvailable, "option \(name) at level SOL_SOCKET is not supported")
        }
    }

    /// SO_RCVBUF / SO_SNDBUF: the most a ring may hold (memory is charged
    /// only as data is queued, against the core's TCP buffer budget); the
    /// ring then no longer grows by auto-tuning, as on Linux.
    private func setBufferSize(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        let requested = Int(max(try value.int(), 0))
        // As Linux: doubled for bookkeeping, clamped to the maximum, at least 2 KiB.
        let size = min(max(requested * 2, 2048), configuration.maximumBufferSize)
        if name == SO_RCVBUF {
            entry.options.receiveBufferSize = size
            entry.options.receiveBufferLocked = true
        } else {
            entry.options.sendBufferSize = size
            entry.options.sendBufferLocked = true
        }
    }

    private func setIPOption(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        switch name {
        case IP_TTL:
            let ttl = try value.int()
            guard ttl == -1 || (1...255).contains(ttl) else {
                throw SocketError(.invalidArgument, "IP_TTL \(ttl): use 1...255 (or -1 for the default 64)")
            }
            entry.options.timeToLive = ttl == -1 ? 64 : UInt8(ttl)
        case IP_TOS:
            entry.options.typeOfService = UInt8(truncatingIfNeeded: try value.int())
        default:
            throw SocketError(.protocolNotAvailable, "option \(name) at level IPPROTO_IP is not supported")
        }
    }

    private func setTCPOption(_ entry: SocketEntry, _ name: Int32, _ value: OptionValue) throws(SocketError) {
        try checkTCPLevel(entry)
        if name == TCP_CONGESTION {
            let text = value.text()
            guard let algorithm = TCPCongestionControlName(name: text) else {
                throw SocketError(.noSuchFileOrDirectory, "TCP_CONGESTION \"\(text)\": the algorithms are \"reno\" (also \"newreno\") and \"cubic\"")
            }
            entry.options.congestionControl = algorithm
            return
        }
        let v = try value.int()
        switch name {
        case TCP_NODELAY: entry.options.noDelay = v != 0
        case TCP_MAXSEG:
            if let id = entry.connection, stack.tcpStatus(id)?.state.isSynchronized == true {
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
    }

    /// IPPROTO_TCP options apply to SOCK_STREAM sockets only (ENOPROTOOPT)
    /// and are refused once the connection is shut down both ways (EINVAL).
    func checkTCPLevel(_ entry: SocketEntry) throws(SocketError) {
        guard entry.kind == .stream else {
            throw SocketError(.protocolNotAvailable, "IPPROTO_TCP options apply to SOCK_STREAM sockets only")
        }
        if entry.shutRead && entry.shutWrite || entry.connectionEnded {
            throw SocketError(.invalidArgument, "the socket has been shut down: its TCP options no longer apply")
        }
    }

    /// Hands run-time options to a live connection.
    private func applyOptions(_ entry: SocketEntry) {
        guard let id = entry.connection else { return }
        stack.tcpSetOptions(id, entry.options.tcp)
    }
}

/// The bytes of one setsockopt value, read as the option's C type.
struct OptionValue {
    let option: Int32
    let bytes: UnsafeRawBufferPointer

    func int() throws(SocketError) -> Int32 {
        guard bytes.count >= MemoryLayout<Int32>.size else {
            throw SocketError(.invalidArgument, "option \(option) takes an int: value length \(bytes.count) < \(MemoryLayout<Int32>.size)")
        }
        return bytes.loadUnaligned(as: Int32.self)
    }

    /// A struct timeval as nanoseconds (0 = no timeout).
    func timeout() throws(SocketError) -> UInt64 {
        guard bytes.count >= MemoryLayout<timeval>.size else {
            throw SocketError(.invalidArgument, "option \(option) takes a struct timeval: value length \(bytes.count) < \(MemoryLayout<timeval>.size)")
        }
        let time = bytes.loadUnaligned(as: timeval.self)
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

    func linger() throws(SocketError) -> Glibc.linger {
        guard bytes.count >= MemoryLayout<Glibc.linger>.size else {
            throw SocketError(.invalidArgument, "SO_LINGER takes a struct linger: value length \(bytes.count) < \(MemoryLayout<Glibc.linger>.size)")
        }
        return bytes.loadUnaligned(as: Glibc.linger.self)
    }

    /// A name up to its first NUL or the value's length, as Linux reads TCP_CONGESTION.
    func text() -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
