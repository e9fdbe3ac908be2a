import Glibc
import SystemPackage

/// The descriptor-level calls beside the socket calls: accept4's flags,
/// fcntl's F_GETFD/F_SETFD, and ioctl's queue queries.
extension SocketCore {
    /// accept4(): accept, then SOCK_NONBLOCK / SOCK_CLOEXEC on the new
    /// socket (EINVAL for any other flag, before anything is accepted).
    public func accept(_ descriptor: Int32, flags: Int32) throws(SocketError) -> (descriptor: Int32, peer: IPv4SocketAddress) {
        let known = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard flags & ~known == 0 else {
            throw SocketError(.invalidArgument, "accept4 flags 0x\(String(flags, radix: 16)): only SOCK_NONBLOCK and SOCK_CLOEXEC")
        }
        let (child, peer) = try accept(descriptor)
        let (_, entry) = try entry(child)
        entry.nonBlocking = flags & Int32(SOCK_NONBLOCK.rawValue) != 0
        entry.closeOnExec = flags & Int32(SOCK_CLOEXEC.rawValue) != 0
        return (child, peer)
    }

    /// F_GETFD: FD_CLOEXEC or 0.
    public func isCloseOnExec(_ descriptor: Int32) throws(SocketError) -> Bool {
        try entry(descriptor).entry.closeOnExec
    }

    /// F_SETFD.
    public func setCloseOnExec(_ descriptor: Int32, _ on: Bool) throws(SocketError) {
        try entry(descriptor).entry.closeOnExec = on
    }

    /// FIONREAD / SIOCINQ: bytes a TCP receive would return now; for UDP
    /// the size of the next datagram (0 when none), as Linux. A listening
    /// socket is EINVAL (Linux).
    public func bytesReadable(_ descriptor: Int32) throws(SocketError) -> Int {
        let (_, entry) = try entry(descriptor)
        switch entry.kind {
        case .datagram:
            return nextDatagram(entry)?.length ?? 0
        case .stream:
            if entry.listener != nil { throw SocketError(.invalidArgument, "FIONREAD on a listening socket") }
            guard let id = entry.connection, let status = stack.tcpStatus(id) else { return 0 }
            return status.bytesReadable
        }
    }

    /// SIOCOUTQ / TIOCOUTQ: bytes queued to send and not yet acknowledged
    /// (TCP); 0 for UDP, whose datagrams leave at once. A listening socket
    /// is EINVAL (Linux).
    public func bytesUnsent(_ descriptor: Int32) throws(SocketError) -> Int {
        let (_, entry) = try entry(descriptor)
        guard entry.kind == .stream else { return 0 }
        if entry.listener != nil { throw SocketError(.invalidArgument, "SIOCOUTQ on a listening socket") }
        guard let id = entry.connection, let status = stack.tcpStatus(id) else { return 0 }
        return status.bytesUnacknowledged
    }
}
