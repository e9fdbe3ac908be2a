import Glibc
import SystemPackage
import Wire

/// AF_INET (IPv4) or AF_INET6 (IPv6, dual-stack unless IPV6_V6ONLY).
public enum SocketFamily: Sendable, Equatable {
    case inet
    case inet6

    var domain: Int32 { self == .inet ? AF_INET : AF_INET6 }
}

/// AF_INET6 sockets for Swift: the same calls with `IPv6SocketAddress`;
/// addresses of either family come back as `InternetSocketAddress`.
extension Socket {
    /// A socket of `family`: `.inet6` streams take IPv6 peers and, unless
    /// IPV6_V6ONLY is set before bind, IPv4 ones as ::ffff:a.b.c.d.
    public init(_ kind: SocketKind, family: SocketFamily, on core: SocketCore, nonBlocking: Bool = false) throws(SocketError) {
        let type = (kind == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        self.init(descriptor: try core.socket(domain: family.domain, type: type, protocol: 0), core: core)
    }

    public func bind(_ address: IPv6SocketAddress) throws(SocketError) { try core.bind(descriptor, to: address) }
    public func connect(_ address: IPv6SocketAddress) throws(SocketError) { try core.connect(descriptor, to: .inet6(address)) }

    /// IPV6_V6ONLY (before bind): no IPv4 peers on this AF_INET6 socket.
    public func setIPv6Only(_ on: Bool) throws(SocketError) {
        try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, on ? 1 : 0)
    }

    /// accept() with the peer in this socket's family.
    /// IPV6_JOIN_GROUP: this socket (and the interface, reported with MLDv2)
    /// listens to `group`; `interface` 0 is the first IPv6 interface, N
    /// interface N - 1 (as scope ids).
    public func joinGroup(_ group: IPv6Address, interface: UInt32 = 0) throws(SocketError) {
        try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_JOIN_GROUP, value: Self.request(group, interface))
    }

    /// IPV6_LEAVE_GROUP (EADDRNOTAVAIL when not joined).
    public func leaveGroup(_ group: IPv6Address, interface: UInt32 = 0) throws(SocketError) {
        try setOption(level: Int32(IPPROTO_IPV6), name: IPV6_LEAVE_GROUP, value: Self.request(group, interface))
    }

    private static func request(_ group: IPv6Address, _ interface: UInt32) -> ipv6_mreq {
        var request = ipv6_mreq()
        withUnsafeMutableBytes(of: &request.ipv6mr_multiaddr) { group.store(to: $0.baseAddress!) }
        request.ipv6mr_interface = interface
        return request
    }

    public func acceptPeer() throws(SocketError) -> (socket: Socket, peer: InternetSocketAddress) {
        let (fd, peer) = try core.acceptPeer(descriptor)
        return (Socket(descriptor: fd, core: core), peer)
    }

    /// getsockname / getpeername in this socket's family.
    public var socketName: InternetSocketAddress { get throws(SocketError) { try core.socketName(descriptor) } }
    public var peerName: InternetSocketAddress { get throws(SocketError) { try core.peerName(descriptor) } }

    public func connect(_ address: IPv6SocketAddress) async throws(SocketError) {
        try await connectAsync(.inet6(address))
    }

    private func acceptPeerNow() throws(SocketError) -> (socket: Socket, peer: InternetSocketAddress) {
        let wasNonBlocking = try core.isNonBlocking(descriptor)
        try core.setNonBlocking(descriptor, true)
        defer { try? core.setNonBlocking(descriptor, wasNonBlocking) }
        return try acceptPeer()
    }

    public func acceptPeer() async throws(SocketError) -> (socket: Socket, peer: InternetSocketAddress) {
        while true {
            do {
                return try acceptPeerNow()
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    // MARK: Datagrams (AF_INET6 SOCK_DGRAM)

    /// sendto an IPv6 peer (v4-mapped: an IPv4 peer of a dual-stack socket).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, flags: MessageFlags = [], to address: IPv6SocketAddress) throws(SocketError) -> Int {
        try core.send(descriptor, bytes, flags: flags, destination: .v6(address))
    }

    @discardableResult
    public func send(_ bytes: [UInt8], flags: MessageFlags = [], to address: IPv6SocketAddress) throws(SocketError) -> Int {
        let result: Result<Int, SocketError> = bytes.withUnsafeBytes { raw in
            Result { () throws(SocketError) -> Int in try core.send(descriptor, raw, flags: flags, destination: .v6(address)) }
        }
        return try result.get()
    }

    /// recvfrom with the source in the socket's family (`.v6` on AF_INET6).
    public func receiveFrom(maximum: Int = 65_536, flags: MessageFlags = []) throws(SocketError) -> (bytes: [UInt8], source: InternetSocketAddress?) {
        var buffer = [UInt8](repeating: 0, count: maximum)
        let outcome: Result<ReceiveResult, SocketError> = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SocketError) -> ReceiveResult in try core.receive(descriptor, into: raw, flags: flags) }
        }
        let result = try outcome.get()
        return (Array(buffer[0..<min(result.count, maximum)]), result.address ?? result.source.map(InternetSocketAddress.v4))
    }

    @discardableResult
    public func send(_ bytes: [UInt8], flags: MessageFlags = [], to address: IPv6SocketAddress) async throws(SocketError) -> Int {
        while true {
            do {
                return try sendNow(bytes, flags: flags.union(.dontWait), to: address)
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    public func receiveFrom(maximum: Int = 65_536, flags: MessageFlags = []) async throws(SocketError) -> (bytes: [UInt8], source: InternetSocketAddress?) {
        while true {
            do {
                return try receiveFromNow(maximum: maximum, flags: flags.union(.dontWait))
            } catch where error.errno == .resourceTemporarilyUnavailable {
                try await core.waitForChange(descriptor)
            }
        }
    }

    private func sendNow(_ bytes: [UInt8], flags: MessageFlags, to address: IPv6SocketAddress) throws(SocketError) -> Int {
        try send(bytes, flags: flags, to: address)
    }

    private func receiveFromNow(maximum: Int, flags: MessageFlags) throws(SocketError) -> (bytes: [UInt8], source: InternetSocketAddress?) {
        try receiveFrom(maximum: maximum, flags: flags)
    }
}
