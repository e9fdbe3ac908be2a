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
    /// SO_RCVBUF / SO_SNDBUF were set: that ring keeps its size (no auto-tuning).
    var receiveBufferLocked = false
    var sendBufferLocked = false
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
        options.sendBufferGrows = !sendBufferLocked
        options.receiveBufferGrows = !receiveBufferLocked
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
    var interestSets = SocketWatchers()
    /// Async tasks waiting for this socket to change.
    var waiters: [UnsafeContinuation<Void, Never>] = []
    /// AF_INET or AF_INET6 (SocketCore+IPv6.swift).
    var family = AF_INET
    /// IPV6_V6ONLY: an AF_INET6 socket that takes no IPv4 (v4-mapped) peers.
    var v6Only = false
    /// What few sockets use, out of line (SocketEntryExtras).
    private(set) var extras: SocketEntryExtras?

    /// An AF_INET6 socket's ends at full width (`local`/`remote` keep the
    /// port and the IPv4 view the rest of the layer works with).
    var local6: IPv6SocketAddress? {
        get { extras?.local6 }
        set { if newValue != nil || extras != nil { madeExtras.local6 = newValue } }
    }
    var remote6: IPv6SocketAddress? {
        get { extras?.remote6 }
        set { if newValue != nil || extras != nil { madeExtras.remote6 = newValue } }
    }
    /// IPV6_MULTICAST_IF/HOPS/LOOP and the groups joined (SocketCore+Multicast6.swift).
    var multicast: MulticastSendOptions {
        get { extras?.multicast ?? MulticastSendOptions() }
        set { if newValue != MulticastSendOptions() || extras != nil { madeExtras.multicast = newValue } }
    }
    var memberships: [(group: IPv6Address, interface: Int)] {
        get { extras?.memberships ?? [] }
        set { if !newValue.isEmpty || extras != nil { madeExtras.memberships = newValue } }
    }
    /// A datagram taken by MSG_PEEK, handed out by the next receive.
    var peeked: ReceivedDatagram? {
        get { extras?.peeked }
        set { if newValue != nil || extras != nil { madeExtras.peeked = newValue } }
    }

    private var madeExtras: SocketEntryExtras {
        if let extras { return extras }
        let made = SocketEntryExtras()
        extras = made
        return made
    }

    init(kind: SocketKind, nonBlocking: Bool, options: SocketOptionValues) {
        self.kind = kind
        self.nonBlocking = nonBlocking
        self.options = options
    }
}

/// The fields of a socket entry that only some sockets use: an AF_INET6
/// socket's full-width ends, its multicast options and groups, and a
/// datagram taken by MSG_PEEK. Inline (two
/// optional 29-byte sockaddr_in6 shapes, a 40-byte datagram) they made
/// every entry 96 bytes larger (328 bytes of heap, 232 now), 96 MB for a
/// million idle IPv4 connections; here one pointer, the box made on first
/// use and kept until close (so a peek after the first allocates nothing).
final class SocketEntryExtras {
    var local6: IPv6SocketAddress?
    var remote6: IPv6SocketAddress?
    var multicast = MulticastSendOptions()
    var memberships: [(group: IPv6Address, interface: Int)] = []
    var peeked: ReceivedDatagram?
}

/// The interest sets watching one socket: nearly always none or one, kept
/// inline. (A dictionary cost each watched socket a 112-byte allocation,
/// 112 MB for a million idle connections in one epoll set.)
struct SocketWatchers {
    private var first: SocketInterestSet?
    private var more: [SocketInterestSet] = []

    subscript(id: ObjectIdentifier) -> SocketInterestSet? {
        get {
            if let first, ObjectIdentifier(first) == id { return first }
            return more.first { ObjectIdentifier($0) == id }
        }
        set {
            if let first, ObjectIdentifier(first) == id {
                self.first = newValue ?? (more.isEmpty ? nil : more.removeLast())
            } else if let index = more.firstIndex(where: { ObjectIdentifier($0) == id }) {
                if let newValue { more[index] = newValue } else { more.remove(at: index) }
            } else if let newValue {
                if first == nil { first = newValue } else { more.append(newValue) }
            }
        }
    }

    /// Calls `body` with each set (no allocation: the wake path runs it per readiness change).
    @inline(__always) func forEach(_ body: (SocketInterestSet) -> Void) {
        guard let first else { return }
        body(first)
        for set in more { body(set) }
    }
}
