import DataplaneNIO
import NIOCore
import Packets
import Ports
import Sockets
import Stack
import TCP
import Wire

/// Two stacks over a LoopbackPair, each owned by one loop of one group:
/// loop 0 is A (10.0.0.1/24), loop 1 is B (10.0.0.2/24). Clients use
/// `a`, servers `b` (or the other way round): each channel lives on the
/// loop whose stack holds its socket.
final class TwoLoops: @unchecked Sendable {
    // @unchecked: immutable after init; the loops are thread-safe.
    static let addressA = "10.0.0.1"
    static let addressB = "10.0.0.2"
    let ports: StartedPorts
    let group: DataplaneEventLoopGroup
    var a: DataplaneEventLoop { group.loops[0] }
    var b: DataplaneEventLoop { group.loops[1] }
    /// A's and B's stacks: touch them only on their loop (`submit`).
    let stacks: UnsafeStacks

    /// `receiveLending`: the stacks keep received payloads in their packet
    /// buffers, as `DataplaneEventLoopGroup(port:...)`'s stacks do.
    /// `ipv6`: A is also fd20::1/64, B fd20::2/64 (usable once DAD, 50 ms, is over).
    init(poolSize: Int = 2048, configuration: SocketCoreConfiguration = TwoLoops.testConfiguration,
         receiveLending: Bool = false, ipv6: Bool = false) throws {
        // No per-core cache: the two loop threads share the pool through its ring.
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "nio-test", capacity: poolSize, cacheSize: 0, policy: .anonymous))
        var tcp = TCPConfiguration()
        tcp.receiveLending = receiveLending
        let stackA = NetStack(pool: ports.pool, tcpConfiguration: tcp)
        let stackB = NetStack(pool: ports.pool, tcpConfiguration: tcp)
        func v6(_ text: String) -> IPv6Configuration? {
            ipv6 ? IPv6Configuration(addresses: [IPv6Network(text)!], retransmitMilliseconds: 50) : nil
        }
        try ports.attach(0, to: stackA, InterfaceConfiguration(
            address: IPv4Network(address: IPv4Address(10, 0, 0, 1), prefixLength: 24)!, announceOnStart: false, ipv6: v6("fd20::1/64")))
        try ports.attach(1, to: stackB, InterfaceConfiguration(
            address: IPv4Network(address: IPv4Address(10, 0, 0, 2), prefixLength: 24)!, announceOnStart: false, ipv6: v6("fd20::2/64")))
        stackA.start()
        stackB.start()
        let stacks = UnsafeStacks([stackA, stackB])
        self.stacks = stacks
        group = try DataplaneEventLoopGroup(cores: 2, configuration: .init(idleSleepMicroseconds: 50)) { index in
            try SocketCore(stack: stacks.value[index], group: SocketGroup(), configuration: configuration)
        }
    }

    static var testConfiguration: SocketCoreConfiguration {
        var configuration = SocketCoreConfiguration()
        configuration.privilegedPorts = .allowed
        configuration.raisesSIGPIPE = false
        return configuration
    }

    func shutdown() throws {
        try group.syncShutdownGracefully()
    }
}

/// The stacks handed to the loop threads (each stack is used by one thread only).
struct UnsafeStacks: @unchecked Sendable {
    let value: [NetStack]
    init(_ value: [NetStack]) { self.value = value }
}
