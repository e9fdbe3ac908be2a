/// A passive open on a local endpoint (address `.any` matches every local
/// address): the SYN backlog of half-open children and the queue of
/// established ones waiting for `accept`.
struct TCPListener {
    var local: TCPEndpoint
    var options: TCPConnectionOptions
    /// A :: listener that takes no IPv4 connections (IPV6_V6ONLY).
    var v6Only = false
    /// Children in SYN-RECEIVED allowed at once; beyond this, SYN cookies.
    var synBacklog: Int
    /// Established children waiting for accept; beyond this, SYNs are dropped.
    var acceptBacklog: Int
    var halfOpen = 0
    var acceptQueue: [TCPConnectionID] = []
    var acceptQueueHead = 0
    var generation: UInt32
    var eventsPending: TCPEvents = []
    /// When the listener last answered a SYN with a cookie (ACKs that fail
    /// the cookie check are dropped, not reset, for the cookies' lifetime).
    var lastCookieSent: TCPInstant?

    var acceptQueueCount: Int { acceptQueue.count - acceptQueueHead }

    mutating func popAccept() -> TCPConnectionID? {
        guard acceptQueueHead < acceptQueue.count else { return nil }
        let id = acceptQueue[acceptQueueHead]
        acceptQueueHead += 1
        if acceptQueueHead == acceptQueue.count {
            acceptQueue.removeAll(keepingCapacity: true)
            acceptQueueHead = 0
        }
        return id
    }
}

/// A handle on a connection in a `TCPEndpointTable` (slot and generation, so
/// a stale handle never reaches a slot's next occupant).
public struct TCPConnectionID: Hashable, Sendable, CustomStringConvertible {
    public var slot: Int32
    public var generation: UInt32
    public var description: String { "conn#\(slot).\(generation)" }
}

/// A handle on a listener in a `TCPEndpointTable`.
public struct TCPListenerID: Hashable, Sendable, CustomStringConvertible {
    public var index: Int32
    public var generation: UInt32
    public var description: String { "listener#\(index).\(generation)" }
}

/// What the socket layer learns from `TCPEndpointTable.nextEvent()`.
public enum TCPTableEvent: Sendable, Hashable {
    case connection(TCPConnectionID, TCPEvents)
    case listener(TCPListenerID, TCPEvents)
}

/// Table-wide counters.
public struct TCPTableStatistics: Sendable, Hashable {
    public var segmentsReceived = 0
    /// RSTs sent for segments to ports with no connection or listener.
    public var resetsForClosedPorts = 0
    public var synCookiesSent = 0
    public var synCookiesAccepted = 0
    public var synCookiesRejected = 0
    /// Cookie ACKs that replaced a half-open child made from a retransmitted SYN.
    public var synCookiesOverHalfOpen = 0
    /// SYNs dropped because the accept queue was full (or the backlog, without cookies).
    public var synsDropped = 0
    /// Cookie ACKs dropped because the accept queue was full (the peer sends again).
    public var cookieACKsDroppedQueueFull = 0
    /// ACKs that would have completed a half-open child's handshake while
    /// its listener's accept queue was full: dropped, the child kept in
    /// SYN-RECEIVED (its SYN-ACK is sent again; Linux's ListenOverflows).
    public var handshakeACKsDroppedQueueFull = 0
    /// ACKs (pure or with data or FIN) at a listener that failed the cookie
    /// check while cookies were in use: dropped instead of reset (also in
    /// `synCookiesRejected`).
    public var synCookieACKsDroppedUnchecked = 0
    public var timeWaitReused = 0
    /// Connection deadlines reached in the timer wheel (each is O(1)).
    public var timerExpirations = 0
    /// Local ports examined while choosing ephemeral ports (the cost of the search).
    public var ephemeralPortProbes = 0
    public var timeWaitACKs = 0
    public var connectionsOpened = 0
    public var connectionsAccepted = 0
    /// Control segments dropped because the control queue was full.
    public var controlQueueDrops = 0
    public var connectionsFreed = 0
    public init() {}
}
