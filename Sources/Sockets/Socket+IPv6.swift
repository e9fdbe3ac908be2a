import Glibc
import SystemPackage

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
}
