import Wire

/// One interface of a stack: an address with its prefix, an optional
/// default gateway and the MTU (at most the device's).
public struct InterfaceConfiguration: Sendable, Equatable {
    public var address: IPv4Network
    public var gateway: IPv4Address?
    /// nil takes the device's MTU.
    public var mtu: Int?
    /// Broadcast a gratuitous ARP request when the stack starts.
    public var announceOnStart: Bool
    /// IPv6 on this interface (nil: off, the interface drops IPv6 frames).
    public var ipv6: IPv6Configuration?

    public init(address: IPv4Network, gateway: IPv4Address? = nil, mtu: Int? = nil, announceOnStart: Bool = true,
                ipv6: IPv6Configuration?) {
        self.init(address: address, gateway: gateway, mtu: mtu, announceOnStart: announceOnStart)
        self.ipv6 = ipv6
    }

    public init(address: IPv4Network, gateway: IPv4Address? = nil, mtu: Int? = nil, announceOnStart: Bool = true) {
        self.address = address
        self.gateway = gateway
        self.mtu = mtu
        self.announceOnStart = announceOnStart
    }
}

/// Why the stack refused a configuration or a call. `description` names
/// the cause and the fix.
public struct StackError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case invalidConfiguration
        case addressInUse
        case addressNotAvailable
        case noBuffers
        case messageTooLong
        case notConnected
        case noRoute
        case tooManyEndpoints
        case badEndpoint
        case connectionRefused
        case hostUnreachable
        case networkUnreachable
        case wouldBlock
        /// A route or neighbour entry that is already there.
        case exists
        /// A route or neighbour entry that is not there.
        case notFound
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
