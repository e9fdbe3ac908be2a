import TCP
import Wire

// The vocabulary of NetStack's TCP surface (NetStack+TCPCalls.swift): what
// the socket layer names when it opens, drives and watches a connection,
// without reaching into the TCP module's tables. Each type wraps the TCP
// module's own value, so crossing the boundary costs no conversion.

/// A handle on one TCP connection of a NetStack (a socket's connection).
/// A buffer lent to a connection's send ring, or a received packet kept in
/// a receive ring (TCP's `TCPBorrowedBytes`): the name the layers above the
/// stack use, so they reach TCP only through NetStack.
public typealias LentBytes = TCPBorrowedBytes

public struct TCPStreamHandle: Hashable, Sendable, CustomStringConvertible {
    let id: TCPConnectionID
    public var description: String { id.description }
}

/// A handle on one listening endpoint of a NetStack.
public struct TCPListenerHandle: Hashable, Sendable, CustomStringConvertible {
    let id: TCPListenerID
    public var description: String { id.description }
}

/// Why a connection failed (the socket layer's ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH).
public enum TCPStreamFailure: Sendable, Hashable, CustomStringConvertible {
    case refused, reset, timedOut, hostUnreachable, networkDown

    init(_ error: TCPConnectionError) {
        switch error {
        case .connectionRefused: self = .refused
        case .connectionReset: self = .reset
        case .timedOut: self = .timedOut
        case .hostUnreachable: self = .hostUnreachable
        case .networkDown: self = .networkDown
        }
    }

    public var description: String {
        switch self {
        case .refused: TCPConnectionError.connectionRefused.description
        case .reset: TCPConnectionError.connectionReset.description
        case .timedOut: TCPConnectionError.timedOut.description
        case .hostUnreachable: TCPConnectionError.hostUnreachable.description
        case .networkDown: TCPConnectionError.networkDown.description
        }
    }
}

/// A connection's RFC 9293 state, with the coarse phase a socket acts on.
public struct TCPStreamState: Hashable, Sendable, CustomStringConvertible {
    /// What the socket layer may do in this state.
    public enum Phase: Sendable, Hashable {
        /// SYN-SENT or SYN-RECEIVED: the handshake is under way.
        case opening
        /// ESTABLISHED or CLOSE-WAIT: data may be sent.
        case open
        /// FIN-WAIT-1/2, CLOSING, LAST-ACK, TIME-WAIT: our side has closed.
        case closing
        /// CLOSED (orderly, reset, refused or timed out).
        case closed
    }

    let state: TCPState

    public var phase: Phase {
        switch state {
        case .synSent, .synReceived, .listen: .opening
        case .established, .closeWait: .open
        case .closed: .closed
        default: .closing
        }
    }

    /// The handshake has completed (the MSS is negotiated).
    public var isSynchronized: Bool { state.isSynchronized }
    /// RFC 9293's name: "ESTABLISHED", "FIN-WAIT-1", ...
    public var description: String { state.description }
}

/// A snapshot of one connection, taken with one lookup.
public struct TCPStreamStatus: Sendable {
    public var state: TCPStreamState
    public var bytesReadable: Int
    /// Bytes the send buffer takes now (0 once our side has closed).
    public var sendSpace: Int
    /// Bytes sent or queued and not yet acknowledged.
    public var bytesUnacknowledged: Int
    /// The peer's FIN arrived and every byte before it has been read.
    public var isAtEndOfStream: Bool
    public var failure: TCPStreamFailure?
    /// The ends at IPv6 width (an IPv4 connection's are v4-mapped).
    public var local: TCPEndpoint
    public var remote: TCPEndpoint
    /// The IPv4 ends (0.0.0.0 for an IPv6 connection).
    public var localAddress: IPv4Address { local.ipv4Address ?? .any }
    public var localPort: UInt16 { local.port }
    public var remoteAddress: IPv4Address { remote.ipv4Address ?? .any }
    public var remotePort: UInt16 { remote.port }
    /// The MSS segments are cut to (after the handshake).
    public var sendMSS: Int

    init(_ connection: TCPConnection) {
        state = TCPStreamState(state: connection.state)
        bytesReadable = connection.bytesReadable
        sendSpace = connection.sendSpace
        bytesUnacknowledged = connection.bytesUnacknowledged
        isAtEndOfStream = connection.isAtEndOfStream
        failure = connection.error.map(TCPStreamFailure.init)
        local = connection.tuple.local
        remote = connection.tuple.remote
        sendMSS = connection.sendMSS
    }
}

/// Congestion control algorithms, by the names Linux's TCP_CONGESTION uses.
public enum TCPCongestionControlName: String, Sendable, Hashable, CaseIterable {
    /// NewReno (RFC 6582); Linux calls it "reno".
    case reno
    /// CUBIC (RFC 9438).
    case cubic

    /// Accepts Linux's names and FreeBSD's "newreno".
    public init?(name: String) {
        switch name {
        case "reno", "newreno": self = .reno
        case "cubic": self = .cubic
        default: return nil
        }
    }

    var algorithm: TCPCongestionAlgorithm {
        switch self {
        case .reno: .newReno
        case .cubic: .cubic
        }
    }
}

/// The per-socket options TCP honours (what setsockopt sets).
public struct TCPStreamOptions: Sendable, Hashable {
    public var sendBufferSize = 256 * 1024
    public var receiveBufferSize = 256 * 1024
    /// The rings grow from these sizes while transfers fill them (auto-tuning,
    /// TCPConnectionOptions); false once SO_SNDBUF / SO_RCVBUF was set.
    public var sendBufferGrows = true
    public var receiveBufferGrows = true
    /// TCP_NODELAY: Nagle's algorithm off.
    public var noDelay = false
    public var keepAlive = false
    public var keepAliveIdleSeconds = 7200
    public var keepAliveIntervalSeconds = 75
    public var keepAliveCount = 9
    /// TCP_MAXSEG (nil: the interface MTU's).
    public var maximumSegmentSize: Int?
    public var timeToLive: UInt8 = 64
    public var typeOfService: UInt8 = 0
    public var congestionControl = TCPCongestionControlName.reno

    public init() {}

    var connectionOptions: TCPConnectionOptions {
        var options = TCPConnectionOptions()
        options.sendBufferSize = sendBufferSize
        options.receiveBufferSize = receiveBufferSize
        options.sendBufferGrows = sendBufferGrows
        options.receiveBufferGrows = receiveBufferGrows
        options.noDelay = noDelay
        options.keepAlive = keepAlive
        options.keepAliveIdle = .seconds(UInt64(keepAliveIdleSeconds))
        options.keepAliveInterval = .seconds(UInt64(keepAliveIntervalSeconds))
        options.keepAliveCount = keepAliveCount
        options.maximumSegmentSize = maximumSegmentSize
        options.timeToLive = timeToLive
        options.typeOfService = typeOfService
        options.congestionControl = congestionControl.algorithm
        return options
    }
}

/// What changed on a connection or listener (handed to `tcpEventHandler`).
public enum TCPStreamEvent: Sendable {
    /// The connection changed: `connected` when its handshake completed,
    /// `failure` when it ended with an error.
    case stream(TCPStreamHandle, connected: Bool, failure: TCPStreamFailure?)
    /// A listener has a connection to accept.
    case listener(TCPListenerHandle)
}

/// What `tcpSend` did.
public enum TCPSendResult: Sendable {
    /// Bytes taken into the send buffer (0 when it is full).
    case queued(Int)
    /// The handshake has not completed yet.
    case notYetOpen
    /// Our side has closed or the connection has ended: nothing more can be sent.
    case closed(TCPStreamState)
    /// The handle names no connection (released).
    case unknown
}

/// Why a TCP call of the socket layer was refused.
public enum TCPOpenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The local endpoint is in use by a listener or connection.
    case addressInUse(TCPEndpoint)
    /// No free ephemeral port toward that peer.
    case noEphemeralPort
    /// Any other refusal, with the TCP module's reason.
    case refused(String)

    init(_ error: TCPCallError) {
        switch error {
        case .addressInUse(let endpoint): self = .addressInUse(endpoint)
        case .noEphemeralPort: self = .noEphemeralPort
        default: self = .refused(error.description)
        }
    }

    public var description: String {
        switch self {
        case .addressInUse(let endpoint): "\(endpoint) is already in use by a TCP listener or connection"
        case .noEphemeralPort: TCPCallError.noEphemeralPort.description
        case .refused(let why): why
        }
    }
}
