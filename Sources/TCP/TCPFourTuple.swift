import Wire

/// One end of a TCP connection: address and port.
public struct TCPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16
    public init(address: IPv4Address, port: UInt16) {
        self.address = address
        self.port = port
    }
    public var description: String { "\(address):\(port)" }
}

/// The identity of a connection, seen from our side.
public struct TCPFourTuple: Hashable, Sendable, CustomStringConvertible {
    public var local: TCPEndpoint
    public var remote: TCPEndpoint
    public init(local: TCPEndpoint, remote: TCPEndpoint) {
        self.local = local
        self.remote = remote
    }

    /// The tuple packed into two words for keyed hashing.
    var hashWords: (UInt64, UInt64) {
        (UInt64(local.address.value) << 32 | UInt64(remote.address.value),
         UInt64(local.port) << 16 | UInt64(remote.port))
    }

    public var description: String { "\(local)<->\(remote)" }
}
