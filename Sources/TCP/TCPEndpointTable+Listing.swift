/// One connection as `ss -ti` shows it: a copy, safe to hand to another thread.
public struct TCPConnectionInfo: Sendable, Equatable {
    public var tuple: TCPFourTuple
    public var state: TCPState
    /// Bytes received and not yet read by the application (ss: Recv-Q).
    public var receiveQueue: Int
    /// Bytes written and not yet acknowledged by the peer (ss: Send-Q).
    public var sendQueue: Int
    public var smoothedRTTMicroseconds: UInt64?
    public var rttVariationMicroseconds: UInt64
    public var retransmissionTimeoutMicroseconds: UInt64
    public var congestionWindow: Int
    public var slowStartThreshold: Int
    public var sendMSS: Int
    public var congestionAlgorithm: String
    public var statistics: TCPConnectionStatistics
}

/// A listening endpoint and its accept queue.
public struct TCPListenerInfo: Sendable, Equatable {
    public var local: TCPEndpoint
    /// Connections established and not accepted yet (ss: Recv-Q of a listener).
    public var acceptQueue: Int
}

extension TCPEndpointTable {
    /// Every connection in the table (TIME-WAIT entries are counted, not
    /// listed: they are only a tuple). For diagnostics; allocates.
    public func connectionInfos() -> [TCPConnectionInfo] {
        slots.compactMap { slot in
            guard let connection = slot else { return nil }
            return TCPConnectionInfo(
                tuple: connection.tuple, state: connection.state,
                receiveQueue: connection.bytesReadable, sendQueue: connection.bytesUnacknowledged,
                smoothedRTTMicroseconds: connection.smoothedRTT?.microseconds,
                rttVariationMicroseconds: connection.roundTrip.rttVariation.microseconds,
                retransmissionTimeoutMicroseconds: connection.retransmissionTimeout.microseconds,
                congestionWindow: connection.congestionWindow, slowStartThreshold: connection.slowStartThreshold,
                sendMSS: connection.sendMSS, congestionAlgorithm: "\(connection.congestion.algorithm)",
                statistics: connection.statistics)
        }
    }

    /// Every listening endpoint.
    public func listenerInfos() -> [TCPListenerInfo] {
        listeners.compactMap { listener in
            listener.map { TCPListenerInfo(local: $0.local, acceptQueue: $0.acceptQueueCount) }
        }
    }
}
