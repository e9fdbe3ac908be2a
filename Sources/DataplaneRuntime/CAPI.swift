import Glibc
import Logging
import Platform
import Sockets
import SystemPackage

// The C API of dataplane.h: each function finds the core of its descriptor,
// makes the call and turns a SocketError into -1 with errno set.

@inline(__always)
func fail(_ error: SocketError) -> Int32 {
    Glibc.errno = error.errno.rawValue
    return -1
}

@inline(__always)
func fail(_ code: Int32) -> Int32 {
    Glibc.errno = code
    return -1
}

func call(_ descriptor: Int32, _ body: (SocketCore) throws(SocketError) -> Int32) -> Int32 {
    do {
        return try body(try SocketCore.owning(descriptor))
    } catch {
        return fail(error)
    }
}

func callSize(_ descriptor: Int32, _ body: (SocketCore) throws(SocketError) -> Int) -> Int {
    do {
        return try body(try SocketCore.owning(descriptor))
    } catch {
        return Int(fail(error))
    }
}

/// Writes an IPv4 address to a caller's sockaddr: at most *length bytes
/// (truncated), then *length = the full size.
func store(_ address: IPv4SocketAddress, _ pointer: UnsafeMutablePointer<sockaddr>?,
                   _ length: UnsafeMutablePointer<socklen_t>?) {
    guard let pointer, let length else { return }
    var value = address.sockaddr
    let full = MemoryLayout<sockaddr_in>.size
    let count = min(Int(length.pointee), full)
    withUnsafeBytes(of: &value) { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress!, byteCount: count) }
    length.pointee = socklen_t(full)
}

/// Writes an address of either family (sockaddr_in or sockaddr_in6),
/// truncated to *length, and sets *length to its full size.
func store(_ address: InternetSocketAddress, _ pointer: UnsafeMutablePointer<sockaddr>?,
           _ length: UnsafeMutablePointer<socklen_t>?) {
    guard let length else { return }
    length.pointee = socklen_t(address.write(to: pointer.map(UnsafeMutableRawPointer.init), capacity: pointer == nil ? 0 : Int(length.pointee)))
}

/// Parses an address for `fd`: an AF_INET6 socket needs the sockaddr_in6
/// size first (EINVAL, as Linux's inet6_bind and tcp_v6_connect), then
/// the family (EAFNOSUPPORT).
func parse(_ pointer: UnsafePointer<sockaddr>?, _ length: socklen_t, for fd: Int32, on core: SocketCore) throws(SocketError) -> ConnectAddress {
    if pointer != nil, try core.family(fd) == AF_INET6, Int(length) < MemoryLayout<sockaddr_in6>.size - 4 {
        throw SocketError(.invalidArgument, "address length \(length) is less than sizeof(struct sockaddr_in6) = \(MemoryLayout<sockaddr_in6>.size) on an AF_INET6 socket")
    }
    return try parse(pointer, length)
}

/// sendto's address: AF_UNSPEC on an AF_INET6 socket is no address (as
/// Linux's udpv6_sendmsg), on an AF_INET one EAFNOSUPPORT.
func datagramDestination(_ address: ConnectAddress, _ fd: Int32, _ core: SocketCore) throws(SocketError) -> InternetSocketAddress? {
    switch address {
    case .inet(let inet): return .v4(inet)
    case .inet6(let inet6): return .v6(inet6)
    case .unspecified:
        guard try core.family(fd) == AF_INET6 else { throw SocketError(.addressFamilyNotSupported, "sendto needs an AF_INET address") }
        return nil
    }
}

func parse(_ pointer: UnsafePointer<sockaddr>?, _ length: socklen_t) throws(SocketError) -> ConnectAddress {
    guard let pointer else { throw SocketError(.badAddress, "the address pointer is NULL") }
    return try ConnectAddress.parse(UnsafeRawPointer(pointer), length: Int(length))
}

// MARK: Runtime

/// The runtime's log (Platform's DataplaneLog: one line on standard error
/// with the process, pid and core).
let runtimeLog = DataplaneLog.logger("dataplane.runtime")

/// Logs why a call failed (error level: shown unless DP_LOG_LEVEL is critical).
func report(_ message: String, level: Logger.Level = .error) {
    var text = Substring(message)
    while text.last == "\n" { text.removeLast() }
    runtimeLog.log(level: level, "\(text)")
}

@_cdecl("dp_init")
public func dp_init(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard DataplaneRuntime.current == nil else {
        report("dp_init: already initialised\n")
        return fail(EALREADY)
    }
    var arguments: [String] = []
    if let argv {
        for i in 0..<Int(max(argc, 0)) { if let c = argv[i] { arguments.append(String(cString: c)) } }
    }
    return startRuntime(arguments, caller: "dp_init") { _ in }
}

/// Parses dp_init's flags, brings the port up and makes the process's
/// runtime (then `prepare` runs on it); 0, or -1 with errno and the reason
/// on standard error after `caller:`.
func startRuntime(_ arguments: [String], caller: String, prepare: (DataplaneRuntime) throws -> Void) -> Int32 {
    do {
        let options = try RuntimeOptions.parse(arguments)
        let runtime = try DataplaneRuntime(options: options)
        try prepare(runtime)
        DataplaneRuntime.current = runtime
        DataplaneRuntime.stopRequested.store(false, ordering: .releasing)
        return 0
    } catch let failure as RuntimeOptions.Failure {
        report("\(caller): \(failure.message)\n")
        return fail(failure.errno)
    } catch {
        report("\(caller): \(error)\n")
        return fail(ENODEV)
    }
}

@_cdecl("dp_run")
public func dp_run(_ loop: (@convention(c) (UnsafeMutableRawPointer?) -> Int32)?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let runtime = DataplaneRuntime.current else {
        report("dp_run: call dp_init first\n")
        return fail(EINVAL)
    }
    guard let loop else { return fail(EFAULT) }
    do {
        return try runtime.run(loop, argument)
    } catch {
        report("dp_run: \(error)\n")
        return fail(EIO)
    }
}

@_cdecl("dp_core_id")
public func dp_core_id() -> Int32 { DataplaneRuntime.current?.coreIndex() ?? -1 }

@_cdecl("dp_interrupt")
public func dp_interrupt(_ core: Int32) -> Int32 {
    guard core >= 0, Int(core) < SocketDescriptor.maximumCores else { return fail(EINVAL) }
    let id = DataplaneRuntime.coreIDs[Int(core)].load(ordering: .acquiring)
    guard id >= 0 else { return fail(EINVAL) }
    SocketCore.interrupt(coreID: id)
    return 0
}

@_cdecl("dp_stop")
public func dp_stop() {
    DataplaneRuntime.stopRequested.store(true, ordering: .releasing)
    for flag in DataplaneRuntime.coreIDs {
        let id = flag.load(ordering: .relaxed)
        if id >= 0 { SocketCore.interrupt(coreID: id) }
    }
}

// MARK: Sockets

@_cdecl("dp_socket")
public func dp_socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 {
    guard let runtime = DataplaneRuntime.current, let index = Optional(runtime.coreIndex()), index >= 0 else {
        return fail(SocketError(.invalidArgument, "dp_socket outside a core: call it from the loop given to dp_run"))
    }
    do {
        return try runtime.cores[Int(index)].socket(domain: domain, type: type, protocol: proto)
    } catch {
        return fail(error)
    }
}

@_cdecl("dp_bind")
public func dp_bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        switch try parse(address, length, for: fd, on: core) {
        case .inet(let inet): try core.bind(fd, to: inet)
        case .inet6(let inet6): try core.bind(fd, to: inet6)
        case .unspecified: throw SocketError(.addressFamilyNotSupported, "bind needs an AF_INET or AF_INET6 address")
        }
        return 0
    }
}

@_cdecl("dp_connect")
public func dp_connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        // Linux's ip6_datagram_connect takes a sockaddr_in (16 bytes) on an
        // AF_INET6 datagram socket; the sockaddr_in6 size rule is for the rest.
        if let address, length >= 2, address.pointee.sa_family == sa_family_t(AF_INET), try core.isDatagram(fd) {
            try core.connect(fd, to: try parse(address, length))
        } else {
            try core.connect(fd, to: try parse(address, length, for: fd, on: core))
        }
        return 0
    }
}

@_cdecl("dp_listen")
public func dp_listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        try core.listen(fd, backlog: Int(backlog))
        return 0
    }
}

@_cdecl("dp_accept")
public func dp_accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        if address != nil && length == nil { throw SocketError(.badAddress, "addr is given but addrlen is NULL") }
        let (child, peer) = try core.acceptPeer(fd)
        store(peer, address, length)
        return child
    }
}

@_cdecl("dp_send")
public func dp_send(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ length: Int, _ flags: Int32) -> Int {
    dp_sendto(fd, buffer, length, flags, nil, 0)
}

@_cdecl("dp_sendto")
public func dp_sendto(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ length: Int, _ flags: Int32,
                      _ to: UnsafePointer<sockaddr>?, _ toLength: socklen_t) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        guard buffer != nil || length == 0 else { throw SocketError(.badAddress, "buf is NULL") }
        guard length >= 0 else { throw SocketError(.invalidArgument, "len is negative") }
        let destination = to == nil ? nil : try datagramDestination(try parse(to, toLength), fd, core)
        return try core.send(fd, UnsafeRawBufferPointer(start: buffer, count: length),
                             flags: MessageFlags(rawValue: flags), destination: destination)
    }
}

@_cdecl("dp_recv")
public func dp_recv(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ length: Int, _ flags: Int32) -> Int {
    dp_recvfrom(fd, buffer, length, flags, nil, nil)
}

@_cdecl("dp_recvfrom")
public func dp_recvfrom(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ length: Int, _ flags: Int32,
                        _ from: UnsafeMutablePointer<sockaddr>?, _ fromLength: UnsafeMutablePointer<socklen_t>?) -> Int {
    callSize(fd) { (core) throws(SocketError) -> Int in
        guard buffer != nil || length == 0 else { throw SocketError(.badAddress, "buf is NULL") }
        guard length >= 0 else { throw SocketError(.invalidArgument, "len is negative") }
        if from != nil && fromLength == nil { throw SocketError(.badAddress, "from is given but fromlen is NULL") }
        let result = try core.receive(fd, into: UnsafeMutableRawBufferPointer(start: buffer, count: length),
                                      flags: MessageFlags(rawValue: flags))
        if let source = result.address ?? result.source.map(InternetSocketAddress.v4) { store(source, from, fromLength) }
        return result.count
    }
}

@_cdecl("dp_setsockopt")
public func dp_setsockopt(_ fd: Int32, _ level: Int32, _ option: Int32, _ value: UnsafeRawPointer?, _ length: socklen_t) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        // A socklen_t that is negative as an int is EINVAL, as Linux has it.
        guard Int32(bitPattern: length) >= 0 else { throw SocketError(.invalidArgument, "option_len \(Int32(bitPattern: length)) is negative") }
        guard value != nil || length == 0 else { throw SocketError(.badAddress, "value is NULL") }
        try core.setOption(fd, level: level, name: option, value: UnsafeRawBufferPointer(start: value, count: Int(length)))
        return 0
    }
}

@_cdecl("dp_getsockopt")
public func dp_getsockopt(_ fd: Int32, _ level: Int32, _ option: Int32, _ value: UnsafeMutableRawPointer?,
                          _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        guard let length else { throw SocketError(.badAddress, "value_len is NULL") }
        guard Int32(bitPattern: length.pointee) >= 0 else {
            throw SocketError(.invalidArgument, "*value_len \(Int32(bitPattern: length.pointee)) is negative")
        }
        guard value != nil || length.pointee == 0 else { throw SocketError(.badAddress, "value is NULL") }
        let full = try core.getOption(fd, level: level, name: option,
                                      into: UnsafeMutableRawBufferPointer(start: value, count: Int(length.pointee)))
        length.pointee = socklen_t(min(full, Int(length.pointee)))
        return 0
    }
}

@_cdecl("dp_close")
public func dp_close(_ fd: Int32) -> Int32 {
    if let set = EpollSet.find(fd) {
        set.close()
        return 0
    }
    return call(fd) { (core) throws(SocketError) -> Int32 in
        try core.close(fd)
        return 0
    }
}

@_cdecl("dp_shutdown")
public func dp_shutdown(_ fd: Int32, _ how: Int32) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        try core.shutdown(fd, how: how)
        return 0
    }
}

@_cdecl("dp_getsockname")
public func dp_getsockname(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        guard address != nil, length != nil else { throw SocketError(.badAddress, "addr or addrlen is NULL") }
        store(try core.socketName(fd), address, length)
        return 0
    }
}

@_cdecl("dp_getpeername")
public func dp_getpeername(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    call(fd) { (core) throws(SocketError) -> Int32 in
        guard address != nil, length != nil else { throw SocketError(.badAddress, "addr or addrlen is NULL") }
        store(try core.peerName(fd), address, length)
        return 0
    }
}

@_cdecl("dp_poll")
public func dp_poll(_ fds: UnsafeMutablePointer<pollfd>?, _ count: UInt, _ timeout: Int32) -> Int32 {
    guard fds != nil || count == 0 else { return fail(EFAULT) }
    let items = UnsafeMutableBufferPointer(start: fds, count: Int(count))
    // The calling thread's core; else the core of the first of our descriptors.
    var core: SocketCore?
    if let runtime = DataplaneRuntime.current, case let index = runtime.coreIndex(), index >= 0 {
        core = runtime.cores[Int(index)]
    } else {
        for item in items { if let c = try? SocketCore.owning(item.fd) { core = c; break } }
    }
    guard let core else {
        // Only kernel descriptors (or none): the kernel's poll.
        let found = Glibc.poll(fds, nfds_t(count), timeout)
        return found
    }
    do {
        return Int32(try core.poll(items, timeoutMilliseconds: timeout))
    } catch {
        return fail(error)
    }
}
