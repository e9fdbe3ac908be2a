import CPlatform
import Glibc
import Sockets
import SystemPackage

// The Linux calls beyond the seed's (dataplane.h, "Linux calls"): epoll,
// read/write and their vectored forms, sendmsg/recvmsg, accept4, ioctl,
// fcntl's descriptor flags. Same shape as CAPI.swift: -1 and errno.

// MARK: epoll

@_cdecl("dp_epoll_create")
public func dp_epoll_create(_ size: Int32) -> Int32 {
    guard size > 0 else { return fail(SocketError(.invalidArgument, "epoll_create size \(size) must be positive")) }
    return dp_epoll_create1(0)
}

@_cdecl("dp_epoll_create1")
public func dp_epoll_create1(_ flags: Int32) -> Int32 {
    do {
        return try EpollSet.create(flags: flags).descriptor
    } catch {
        return fail(error)
    }
}

/// The epoll set behind `descriptor`: EBADF when it is no open descriptor,
/// EINVAL when it is a descriptor but not an epoll set (epoll(7)).
private func epollSet(_ descriptor: Int32) throws(SocketError) -> EpollSet {
    if let set = EpollSet.find(descriptor) { return set }
    if SocketDescriptor.decode(descriptor) != nil {
        _ = try SocketCore.owning(descriptor)  // EBADF when not open
        throw SocketError(.invalidArgument, "descriptor \(descriptor) is a socket, not an epoll set")
    }
    guard descriptor >= 0, fcntl(descriptor, F_GETFD) != -1 else {
        throw SocketError(.badFileDescriptor, "descriptor \(descriptor) is not open")
    }
    throw SocketError(.invalidArgument, "descriptor \(descriptor) is not an epoll set made by dp_epoll_create")
}

@_cdecl("dp_epoll_ctl")
public func dp_epoll_ctl(_ epfd: Int32, _ operation: Int32, _ fd: Int32, _ event: UnsafeMutablePointer<epoll_event>?) -> Int32 {
    do {
        try epollSet(epfd).control(operation, fd, event)
        return 0
    } catch {
        return fail(error)
    }
}

@_cdecl("dp_epoll_wait")
public func dp_epoll_wait(_ epfd: Int32, _ events: UnsafeMutablePointer<epoll_event>?, _ capacity: Int32,
                          _ timeout: Int32) -> Int32 {
    do {
        return Int32(try epollSet(epfd).wait(events, capacity: capacity, timeoutMilliseconds: timeout))
    } catch {
        return fail(error)
    }
}

// MARK: read, write, vectors, messages

@_cdecl("dp_read")
public func dp_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ length: Int) -> Int {
    dp_recvfrom(fd, buffer, length, 0, nil, nil)
}

@_cdecl("dp_write")
public func dp_write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ length: Int) -> Int {
    dp_sendto(fd, buffer, length, 0, nil, 0)
}

private func vectors(_ iov: UnsafePointer<iovec>?, _ count: Int) throws(SocketError) -> UnsafeBufferPointer<iovec> {
    guard count >= 0 else { throw SocketError(.invalidArgument, "iovcnt \(count) is negative") }
    guard iov != nil || count == 0 else { throw SocketError(.badAddress, "iov is NULL") }
    return UnsafeBufferPointer(start: iov, count: count)
}

@_cdecl("dp_readv")
public func dp_readv(_ fd: Int32, _ iov: UnsafePointer<iovec>?, _ count: Int32) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        try core.receive(fd, vectors: try vectors(iov, Int(count))).count
    }
}

@_cdecl("dp_writev")
public func dp_writev(_ fd: Int32, _ iov: UnsafePointer<iovec>?, _ count: Int32) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        try core.send(fd, vectors: try vectors(iov, Int(count)))
    }
}

/// A msghdr's buffers: more than UIO_MAXIOV is EMSGSIZE for the msg calls (Linux).
private func messageVectors(_ message: UnsafePointer<msghdr>) throws(SocketError) -> UnsafeBufferPointer<iovec> {
    guard message.pointee.msg_iovlen <= SocketCore.maximumVectors else {
        throw SocketError(.messageTooLong, "msg_iovlen \(message.pointee.msg_iovlen): at most \(SocketCore.maximumVectors)")
    }
    return try vectors(message.pointee.msg_iov, Int(message.pointee.msg_iovlen))
}

@_cdecl("dp_sendmsg")
public func dp_sendmsg(_ fd: Int32, _ message: UnsafePointer<msghdr>?, _ flags: Int32) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        guard let message else { throw SocketError(.badAddress, "msg is NULL") }
        guard message.pointee.msg_controllen == 0 else {
            throw SocketError(.invalidArgument, "control messages (msg_control) are not supported on data-plane sockets")
        }
        var destination: InternetSocketAddress?
        if let name = message.pointee.msg_name {
            destination = try datagramDestination(try parse(name.assumingMemoryBound(to: sockaddr.self), message.pointee.msg_namelen), fd, core)
        }
        return try core.send(fd, vectors: try messageVectors(message), flags: MessageFlags(rawValue: flags), destination: destination)
    }
}

@_cdecl("dp_recvmsg")
public func dp_recvmsg(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>?, _ flags: Int32) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        guard let message else { throw SocketError(.badAddress, "msg is NULL") }
        let buffers = try messageVectors(message)
        let result = try core.receive(fd, vectors: buffers, flags: MessageFlags(rawValue: flags))
        // MSG_TRUNC out: the datagram was longer than the buffers.
        message.pointee.msg_flags = result.fullLength > (try SocketCore.totalLength(buffers)) ? Int32(MSG_TRUNC) : 0
        message.pointee.msg_controllen = 0
        if let name = message.pointee.msg_name {
            if let source = result.address ?? result.source.map(InternetSocketAddress.v4) {
                var length = message.pointee.msg_namelen
                store(source, name.assumingMemoryBound(to: sockaddr.self), &length)
                message.pointee.msg_namelen = length
            } else {
                message.pointee.msg_namelen = 0
            }
        }
        return result.count
    }
}

@_cdecl("dp_accept4")
public func dp_accept4(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?,
                       _ flags: Int32) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        if address != nil && length == nil { throw SocketError(.badAddress, "addr is given but addrlen is NULL") }
        let (child, peer) = try core.accept(fd, flags: flags)
        store(core.acceptedPeer(child, peer), address, length)
        return child
    }
}

// MARK: ioctl, fcntl

/// The ioctl requests a socket answers: FIONBIO (int *: non-blocking on or
/// off), FIONREAD/SIOCINQ (int *: bytes readable, or the next datagram's
/// size), SIOCOUTQ/TIOCOUTQ (int *: bytes not yet acknowledged), SIOCATMARK
/// (int *: 0, no urgent data). Any other request is ENOTTY (Linux).
@_cdecl("dp_ioctl_impl")
public func dp_ioctl_impl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        let value = argument?.assumingMemoryBound(to: Int32.self)
        func output(_ number: Int) throws(SocketError) -> Int32 {
            guard let value else { throw SocketError(.badAddress, "the ioctl argument is NULL") }
            value.pointee = Int32(clamping: number)
            return 0
        }
        switch request {
        case UInt(FIONBIO):
            guard let value else { throw SocketError(.badAddress, "the FIONBIO argument is NULL") }
            try core.setNonBlocking(fd, value.pointee != 0)
            return 0
        case UInt(FIONREAD): return try output(core.bytesReadable(fd))
        case UInt(SIOCOUTQ): return try output(core.bytesUnsent(fd))
        // No urgent data: 0, after the same EINVAL for a listener as SIOCOUTQ (Linux's tcp_ioctl).
        case UInt(SIOCATMARK):
            _ = try core.bytesUnsent(fd)  // EINVAL on a listener, as SIOCOUTQ (Linux's tcp_ioctl)
            return try output(0)          // no urgent data
        default:
            _ = try core.isNonBlocking(fd)  // EBADF first, as the kernel checks the descriptor
            throw SocketError(.inappropriateIOCTLForDevice, "ioctl request 0x\(String(request, radix: 16)) does not apply to data-plane sockets")
        }
    }
}

@_cdecl("dp_fcntl_impl")
public func dp_fcntl_impl(_ fd: Int32, _ command: Int32, _ argument: Int) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        switch command {
        case F_GETFL: return O_RDWR | (try core.isNonBlocking(fd) ? O_NONBLOCK : 0)
        case F_SETFL:
            try core.setNonBlocking(fd, Int32(truncatingIfNeeded: argument) & O_NONBLOCK != 0)
            return 0
        case F_GETFD: return try core.isCloseOnExec(fd) ? FD_CLOEXEC : 0
        case F_SETFD:
            try core.setCloseOnExec(fd, Int32(truncatingIfNeeded: argument) & FD_CLOEXEC != 0)
            return 0
        default:
            _ = try core.isNonBlocking(fd)
            throw SocketError(.invalidArgument, "fcntl command \(command): F_GETFL, F_SETFL, F_GETFD and F_SETFD apply to sockets")
        }
    }
}
