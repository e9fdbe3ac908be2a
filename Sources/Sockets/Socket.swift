import Glibc
import SystemPackage
import Wire

/// A socket of one core, for Swift: the descriptor and its core, with the
/// BSD calls as throwing methods (`SocketError` carries the errno). Use it
/// on the core's thread (or in a task on `core.executor`).
/// Sendable so that a task on the core's executor can hold it; every call
/// checks that it runs on the owning thread (EBADF otherwise).
public struct Socket: Hashable, @unchecked Sendable {
    public let descriptor: Int32
    public unowned let core: SocketCore

    public static func == (a: Socket, b: Socket) -> Bool { a.descriptor == b.descriptor && a.core === b.core }
    public func hash(into hasher: inout Hasher) { hasher.combine(descriptor) }

    public init(descriptor: Int32, core: SocketCore) {
        self.descriptor = descriptor
        self.core = core
    }

    /// A TCP (`.stream`) or UDP (`.datagram`) socket.
    public init(_ kind: SocketKind, on core: SocketCore, nonBlocking: Bool = false) throws(SocketError) {
        let type = (kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        descriptor = try core.socket(domain: AF_INET, type: type, protocol: 0)
        self.core = core
    }

    public func bind(_ address: IPv4SocketAddress) throws(SocketError) { try core.bind(descriptor, to: address) }
    public func bind(port: UInt16) throws(SocketError) { try core.bind(descriptor, to: IPv4SocketAddress(.any, port)) }
    public func connect(_ address: IPv4SocketAddress) throws(SocketError) { try core.connect(descriptor, to: .inet(address)) }
    /// Dissolves a datagram socket's association (connect with AF_UNSPEC).
    public func disconnect() throws(SocketError) { try core.connect(descriptor, to: .unspecified) }
    public func listen(backlog: Int = 128) throws(SocketError) { try core.listen(descriptor, backlog: backlog) }

    public func accept() throws(SocketError) -> (socket: Socket, peer: IPv4SocketAddress) {
        let (fd, peer) = try core.accept(descriptor)
        return (Socket(descriptor: fd, core: core), peer)
    }

    @discardableResult
    public func send(_ bytes: some Collection<UInt8>, flags: MessageFlags = [], to: IPv4SocketAddress? = nil) throws(SocketError) -> Int {
        // Contiguous bytes (arrays, slices, Data) go without a copy.
        if let sent = bytes.withContiguousStorageIfAvailable({ buffer in
            Result { () throws(SocketError) -> Int in try core.send(descriptor, UnsafeRawBufferPointer(buffer), flags: flags, to: to) }
        }) {
            return try sent.get()
        }
        let array = Array(bytes)
        let result: Result<Int, SocketError> = array.withUnsafeBytes { raw in
            Result { () throws(SocketError) -> Int in try core.send(descriptor, raw, flags: flags, to: to) }
        }
        return try result.get()
    }

    /// Receives up to `maximum` bytes.
    public func receive(maximum: Int = 65_536, flags: MessageFlags = []) throws(SocketError) -> (bytes: [UInt8], source: IPv4SocketAddress?) {
        var buffer = [UInt8](repeating: 0, count: maximum)
        let outcome: Result<ReceiveResult, SocketError> = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SocketError) -> ReceiveResult in try core.receive(descriptor, into: raw, flags: flags) }
        }
        let result = try outcome.get()
        return (Array(buffer[0..<min(result.count, maximum)]), result.source)
    }

    /// Sends from the caller's memory: no copy, no allocation.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [], to: IPv4SocketAddress? = nil) throws(SocketError) -> Int {
        try core.send(descriptor, bytes, flags: flags, to: to)
    }

    /// Receives into the caller's memory: no allocation.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, flags: MessageFlags = []) throws(SocketError) -> ReceiveResult {
        try core.receive(descriptor, into: buffer, flags: flags)
    }

    public func shutdown(_ how: Int32) throws(SocketError) { try core.shutdown(descriptor, how: how) }
    public func close() throws(SocketError) { try core.close(descriptor) }
    public var localAddress: IPv4SocketAddress { get throws(SocketError) { try core.localAddress(descriptor) } }
    public var peerAddress: IPv4SocketAddress { get throws(SocketError) { try core.peerAddress(descriptor) } }

    public var isNonBlocking: Bool {
        get throws(SocketError) { try core.isNonBlocking(descriptor) }
    }
    public func setNonBlocking(_ on: Bool) throws(SocketError) { try core.setNonBlocking(descriptor, on) }

    /// setsockopt with an int value.
    public func setOption(level: Int32, name: Int32, _ value: Int32) throws(SocketError) {
        var value = value
        try withUnsafeBytes(of: &value) { (raw) throws(SocketError) in try core.setOption(descriptor, level: level, name: name, value: raw) }
    }

    /// setsockopt with any C value (timeval, linger).
    public func setOption<T>(level: Int32, name: Int32, value: T) throws(SocketError) {
        var value = value
        try withUnsafeBytes(of: &value) { (raw) throws(SocketError) in try core.setOption(descriptor, level: level, name: name, value: raw) }
    }

    /// getsockopt of an int option.
    public func option(level: Int32, name: Int32) throws(SocketError) -> Int32 {
        var value: Int32 = 0
        _ = try withUnsafeMutableBytes(of: &value) { (raw) throws(SocketError) -> Int in
            try core.getOption(descriptor, level: level, name: name, into: raw)
        }
        return value
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO in seconds (0 = none).
    public func setTimeouts(receive: Double? = nil, send: Double? = nil) throws(SocketError) {
        func tv(_ s: Double) -> timeval { timeval(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1e6)) }
        if let receive { try setOption(level: SOL_SOCKET, name: SO_RCVTIMEO, value: tv(receive)) }
        if let send { try setOption(level: SOL_SOCKET, name: SO_SNDTIMEO, value: tv(send)) }
    }
}
