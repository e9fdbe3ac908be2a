import Glibc
import NetDevice
import Packets
import Ports
import Sockets
import Stack
import SystemPackage
import TCP
import Testing
import Wire

/// Two socket cores in one thread over a LoopbackPair: A is 10.0.0.1/24,
/// B is 10.0.0.2/24. While one blocks, it runs the other (`whileBlocked`),
/// so a blocking call on A sees B answer.
final class TwoCores {
    static let addressA = IPv4Address(10, 0, 0, 1)
    static let addressB = IPv4Address(10, 0, 0, 2)
    static let address6A = IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 1)
    static let address6B = IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 2)
    let pool: PacketPool
    /// The loopback pair: A's port first, B's second.
    let ports: StartedPorts
    let group: SocketGroup
    let a: SocketCore
    let b: SocketCore

    init(configuration: SocketCoreConfiguration = TwoCores.testConfiguration, group: SocketGroup = SocketGroup(),
         tcp: TCPConfiguration = TCPConfiguration(), limits: StackLimits = StackLimits(), poolSize: Int = 2048,
         gatewayA: IPv4Address? = nil, ipv6: Bool = false) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "sockets-test", capacity: poolSize, cacheSize: 0, policy: .anonymous))
        pool = ports.pool
        let stackA = NetStack(pool: pool, limits: limits, tcpConfiguration: tcp)
        let stackB = NetStack(pool: pool, limits: limits, tcpConfiguration: tcp)
        // With `ipv6`: fd20::1/64 on A, fd20::2/64 on B (DAD in 50 ms; wait with `waitForIPv6`).
        func v6(_ address: IPv6Address) -> IPv6Configuration? {
            ipv6 ? IPv6Configuration(addresses: [IPv6Network(address: address, prefixLength: 64)!], retransmitMilliseconds: 50) : nil
        }
        try ports.attach(0, to: stackA, InterfaceConfiguration(
            address: IPv4Network(address: Self.addressA, prefixLength: 24)!, gateway: gatewayA, announceOnStart: false,
            ipv6: v6(Self.address6A)))
        try ports.attach(1, to: stackB, InterfaceConfiguration(
            address: IPv4Network(address: Self.addressB, prefixLength: 24)!, announceOnStart: false, ipv6: v6(Self.address6B)))
        stackA.start()
        stackB.start()
        self.group = group
        a = try SocketCore(stack: stackA, group: group, configuration: configuration)
        b = try SocketCore(stack: stackB, group: group, configuration: configuration)
        a.whileBlocked = { [unowned b] in b.runOnce() }
        b.whileBlocked = { [unowned a] in a.runOnce() }
    }

    static var testConfiguration: SocketCoreConfiguration {
        var configuration = SocketCoreConfiguration()
        configuration.privilegedPorts = .allowed
        configuration.raisesSIGPIPE = false
        return configuration
    }

    /// Runs both cores until `condition` holds (false after `seconds`).
    @discardableResult
    func pump(seconds: Double = 2, until condition: () -> Bool = { false }) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            a.runOnce()
            b.runOnce()
            if condition() { return true }
        }
        return condition()
    }

    /// A listening TCP socket on B and a connected pair (client on A, server on B).
    func connectedTCP(port: UInt16 = 5000) throws -> (client: Socket, server: Socket, listener: Socket) {
        let listener = try Socket(.stream, on: b)
        try listener.bind(port: port)
        try listener.listen()
        let client = try Socket(.stream, on: a)
        try client.connect(IPv4SocketAddress(Self.addressB, port))
        let (server, _) = try listener.accept()
        return (client, server, listener)
    }
}

/// Expects `body` to fail with `errno`.
func expectErrno<T>(_ errno: Errno, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> T) {
    do {
        _ = try body()
        Issue.record("expected \(errno), the call succeeded. \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
    } catch {
        #expect((error as? SocketError)?.errno == errno, "\(error) \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
    }
}

extension IPv4SocketAddress {
    static func b(_ port: UInt16) -> IPv4SocketAddress { IPv4SocketAddress(TwoCores.addressB, port) }
    static func a(_ port: UInt16) -> IPv4SocketAddress { IPv4SocketAddress(TwoCores.addressA, port) }
}

/// Expects a C API call to return -1 with `errno` set to `errno`.
func expectC(_ errno: Errno, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation, _ result: () -> Int) {
    let value = result()
    #expect(value == -1, comment, sourceLocation: sourceLocation)
    #expect(Glibc.errno == errno.rawValue, "\(comment): errno \(Glibc.errno), expected \(errno)", sourceLocation: sourceLocation)
}
