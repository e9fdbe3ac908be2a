import Glibc
import Stack
import SystemPackage
import Wire

/// SOCK_STREAM (TCP) or SOCK_DGRAM (UDP).
public enum SocketKind: Sendable, Equatable {
    case stream
    case datagram
}

/// The option values of one socket (what setsockopt sets).
struct SocketOptionValues {
    var reuseAddress = false
    var reusePort = false
    var receiveBufferSize: Int
    var sendBufferSize: Int
    /// Nanoseconds; 0 = wait forever.
    var receiveTimeout: UInt64 = 0
    var sendTimeout: UInt64 = 0
    var keepAlive = false
    var lingerOn = false
    var lingerSeconds: Int32 = 0
    var broadcast = false
    var timeToLive: UInt8 = 64
    var typeOfService: UInt8 = 0
    var noDelay = false
    var maximumSegmentSize: Int?
    var keepAliveIdleSeconds = 7200
    var keepAliveIntervalSeconds = 75
    var keepAliveCount = 9
    var congestionControl = TCPCongestionControlName.reno

    /// What TCP honours of these options.
    var tcp: TCPStreamOptions {
        var options = TCPStreamOptions()
        options.sendBufferSize = sendBufferSize
        options.receiveBufferSize = receiveBufferSize
        options.noDelay = noDelay
        options.keepAlive = keepAlive
        options.keepAliveIdleSeconds = keepAliveIdleSeconds
        options.keepAliveIntervalSeconds = keepAliveIntervalSeconds
        options.keepAliveCount = keepAliveCount
        options.congestionControl = congestionControl
        options.maximumSegmentSize = maximumSegmentSize
        options.timeToLive = timeToLive
        options.typeOfService = typeOfService
        return options
    }
}

/// One open socket of a core (the slot behind a descriptor).
final class SocketEntry {
    let kind: SocketKind
    var nonBlocking: Bool
    /// FD_CLOEXEC: kept for F_GETFD (no exec crosses a data-plane socket).
    var closeOnExec = false
    var options: SocketOptionValues
    /// The bound address (nil until bind, connect, listen or sendto binds it).
    var local: IPv4SocketAddress?
    /// The claimed port in the group (released at close).
    var claimedPort: UInt16?
    /// UDP default peer / TCP peer.
    var remote: IPv4SocketAddress?
    var udp: UDPEndpoint?
    /// A datagram taken by MSG_PEEK, handed out by the next receive.
    var peeked: ReceivedDatagram?
    var connection: TCPStreamHandle?
    var listener: TCPListenerHandle?
    /// A non-blocking (or timed out / interrupted) connect is under way.
    var connecting = false
    /// The connection failed or was reset and the error was reported: reads
    /// give 0, writes EPIPE.
    var connectionEnded = false
    /// SO_ERROR: set by an asynchronous failure, cleared when reported.
    var pendingError: Errno?
    var shutRead = false
    var shutWrite = false
    /// Interest sets that watch this socket.
    var interestSets: [ObjectIdentifier: SocketInterestSet] = [:]
    /// Async tasks waiting for this socket to change.
    var waiters: [UnsafeContinuation<Void, Never>] = []
    /// AF_INET or AF_INET6 (SocketCore+IPv6.swift).
    var family = AF_INET
    /// IPV6_V6ONLY: an AF_INET6 socket that takes no IPv4 (v4-mapped) peers.
    var v6Only = false
    /// An AF_INET6 socket's ends at full width (`local`/`remote` keep the
    /// port and the IPv4 view the rest of the layer works with).
    var local6: IPv6SocketAddress?
    var remote6: IPv6SocketAddress?
    /// IPV6_MULTICAST_IF/HOPS/LOOP and the groups joined (SocketCore+Multicast6.swift).
    var multicast = MulticastSendOptions()
    var memberships: [(group: IPv6Address, interface: Int)] = []

    init(kind: SocketKind, nonBlocking: Bool, options: SocketOptionValues) {
        self.kind = kind
        self.nonBlocking = nonBlocking
        self.options = options
    }
}
