/// What changed on a connection since the socket layer last looked: the
/// readiness bits it turns into poll/select results and wake-ups.
public struct TCPEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The handshake completed (active open) or a child became established.
    public static let connected = TCPEvents(rawValue: 1 << 0)
    /// Received bytes (or the peer's FIN) are waiting to be read.
    public static let readable = TCPEvents(rawValue: 1 << 1)
    /// Send buffer space became free.
    public static let writable = TCPEvents(rawValue: 1 << 2)
    /// The peer closed its direction (FIN received): reads end after the buffer.
    public static let readClosed = TCPEvents(rawValue: 1 << 3)
    /// The connection ended (see `TCPConnection.error` for why, nil = orderly).
    public static let closed = TCPEvents(rawValue: 1 << 4)
    /// A listener has a connection waiting in its accept queue.
    public static let acceptable = TCPEvents(rawValue: 1 << 5)

    public var description: String {
        let names: [(TCPEvents, String)] = [
            (.connected, "connected"), (.readable, "readable"), (.writable, "writable"),
            (.readClosed, "readClosed"), (.closed, "closed"), (.acceptable, "acceptable"),
        ]
        return "[" + names.filter { contains($0.0) }.map(\.1).joined(separator: ",") + "]"
    }
}

/// Why a connection failed; the socket layer maps these to errno values.
public enum TCPConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A RST answered our SYN (ECONNREFUSED).
    case connectionRefused
    /// A RST arrived on a synchronized connection (ECONNRESET).
    case connectionReset
    /// Retransmissions or keepalive probes went unanswered (ETIMEDOUT).
    case timedOut
    /// The SYN's next hop never answered ARP (EHOSTUNREACH, as Linux's tcp_v4_err in SYN-SENT).
    case hostUnreachable
    /// The device under the connection's address went away (ENETDOWN).
    case networkDown

    public var description: String {
        switch self {
        case .connectionRefused: "connection refused: the peer answered the SYN with RST (no listener on that port)"
        case .connectionReset: "connection reset by the peer"
        case .timedOut: "connection timed out: the peer stopped acknowledging (retransmissions or keepalives unanswered)"
        case .hostUnreachable: "no route to host: the next hop did not answer ARP"
        case .networkDown: "network is down: the device under the connection's address was removed"
        }
    }
}

/// Misuse of the API, reported by the call that misused it.
public enum TCPCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// send/receive/shutdown on a connection in a state that does not allow it.
    case invalidState(TCPState)
    /// The handle names no live connection (already released).
    case unknownConnection
    /// The local endpoint is in use by a listener or connection.
    case addressInUse(TCPEndpoint)
    /// No free ephemeral port toward that remote endpoint.
    case noEphemeralPort
    /// The connection failed; the error says why.
    case failed(TCPConnectionError)

    public var description: String {
        switch self {
        case .invalidState(let s): "not allowed in state \(s): connect first, or the direction is already shut down"
        case .unknownConnection: "no such connection: the handle was already released"
        case .addressInUse(let e): "\(e) is already in use: close it first or choose another port"
        case .noEphemeralPort: "all ephemeral ports toward that peer are in use: wait for TIME-WAIT to end or widen the range"
        case .failed(let e): e.description
        }
    }
}
