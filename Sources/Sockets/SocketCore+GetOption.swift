import Glibc
import Stack
import SystemPackage

extension SocketCore {
    /// getsockopt(): writes up to `value.count` bytes (silently truncated)
    /// and returns the option's full length; the C API writes back the
    /// smaller of the two. Allocates nothing: each value is copied from
    /// the stack frame straight into `value`.
    public func getOption(_ descriptor: Int32, level: Int32, name: Int32,
                          into value: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let (_, entry) = try entry(descriptor)
        switch level {
        case SOL_SOCKET: return try socketOption(entry, name, into: value)
        case Int32(IPPROTO_IP):
            switch name {
            case IP_TTL: return Self.write(Int32(entry.options.timeToLive), to: value)
            case IP_TOS: return Self.write(Int32(entry.options.typeOfService), to: value)
            default: throw SocketError(.protocolNotAvailable, "option \(name) at level IPPROTO_IP is not supported")
            }
        case Int32(IPPROTO_TCP): return try tcpOption(entry, name, into: value)
        case Int32(IPPROTO_IPV6): return Self.write(try getIPv6Option(entry, name), to: value)
        default:
            throw SocketError(.protocolNotAvailable, "level \(level) is not supported: use SOL_SOCKET, IPPROTO_IP or IPPROTO_TCP")
        }
    }

    private func socketOption(_ entry: SocketEntry, _ name: Int32, into value: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        let options = entry.options
        switch name {
        case SO_REUSEADDR: return Self.write(options.reuseAddress, to: value)
        case SO_REUSEPORT: return Self.write(options.reusePort, to: value)
        case SO_RCVBUF: return Self.write(Int32(options.receiveBufferSize), to: value)
        case SO_SNDBUF: return Self.write(Int32(options.sendBufferSize), to: value)
        case SO_RCVTIMEO: return Self.write(Self.timeval(options.receiveTimeout), to: value)
        case SO_SNDTIMEO: return Self.write(Self.timeval(options.sendTimeout), to: value)
        case SO_KEEPALIVE: return Self.write(options.keepAlive, to: value)
        case SO_BROADCAST: return Self.write(options.broadcast, to: value)
        case SO_LINGER:
            return Self.write(linger(l_onoff: options.lingerOn ? 1 : 0, l_linger: options.lingerSeconds), to: value)
        case SO_ERROR: return Self.write(takeSocketError(entry)?.rawValue ?? 0, to: value)
        case SO_TYPE:
            return Self.write(entry.kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue), to: value)
        case SO_ACCEPTCONN: return Self.write(entry.listener != nil, to: value)
        case SO_DOMAIN: return Self.write(entry.family, to: value)
        default: throw SocketError(.protocolNotAvailable, "option \(name) at level SOL_SOCKET is not supported")
        }
    }

    /// SO_ERROR: the pending error, cleared as it is read.
    private func takeSocketError(_ entry: SocketEntry) -> Errno? {
        var error = entry.pendingError
        if error == nil, entry.kind == .datagram, let udp = entry.udp, let taken = try? stack.udpTakeError(udp) {
            error = taken.kind == .connectionRefused ? .connectionRefused : .noRouteToHost
        }
        entry.pendingError = nil
        if error != nil && entry.kind == .stream { entry.connectionEnded = true }
        return error
    }

    private func tcpOption(_ entry: SocketEntry, _ name: Int32, into value: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        try checkTCPLevel(entry)
        let options = entry.options
        switch name {
        case TCP_NODELAY: return Self.write(options.noDelay, to: value)
        case TCP_MAXSEG:
            if let id = entry.connection, let status = stack.tcpStatus(id), status.state.isSynchronized {
                return Self.write(Int32(status.sendMSS), to: value)
            }
            return Self.write(Int32(options.maximumSegmentSize ?? stack.tcpLocalMSS), to: value)
        case TCP_KEEPIDLE: return Self.write(Int32(options.keepAliveIdleSeconds), to: value)
        case TCP_KEEPINTVL: return Self.write(Int32(options.keepAliveIntervalSeconds), to: value)
        case TCP_KEEPCNT: return Self.write(Int32(options.keepAliveCount), to: value)
        case TCP_CONGESTION: return Self.writeName(options.congestionControl.rawValue, to: value)
        default: throw SocketError(.protocolNotAvailable, "IPPROTO_TCP option \(name) is not supported")
        }
    }

    // MARK: Writing values

    static func timeval(_ nanoseconds: UInt64) -> Glibc.timeval {
        Glibc.timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1000))
    }

    /// Copies a C value into `value` (truncated to its size); returns the full size.
    static func write<T>(_ item: T, to value: UnsafeMutableRawBufferPointer) -> Int {
        withUnsafeBytes(of: item) { bytes in
            let count = min(bytes.count, value.count)
            if count > 0 { value.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count) }
            return bytes.count
        }
    }

    /// A flag as the int 0 or 1.
    static func write(_ flag: Bool, to value: UnsafeMutableRawBufferPointer) -> Int {
        write(Int32(flag ? 1 : 0), to: value)
    }

    /// TCP_CONGESTION: the name in a zero-padded field of TCP_CA_NAME_MAX
    /// (16) bytes, as Linux returns it.
    static func writeName(_ name: String, to value: UnsafeMutableRawBufferPointer) -> Int {
        let field = 16
        let count = min(value.count, field)
        guard count > 0 else { return field }
        value.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: count)
        for (index, byte) in name.utf8.enumerated() where index < count { value[index] = byte }
        return field
    }
}
