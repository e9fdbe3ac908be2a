import DataplaneNIO
import NIOConcurrencyHelpers
import NIOCore
import Packets
import Ports
import Sockets
import Stack
import Testing
import Wire

@Suite("A server on every core of a group")
struct MultiCoreServerTests {
    /// Port 0 of a loopback pair is spread over two cores in software (RSS);
    /// a server bootstrap given the two-core group listens on both, and the
    /// connections of a client on port 1 are served by both cores, all
    /// through the one server channel's pipeline.
    @Test func connectionsAreServedOnEveryCore() throws {
        let ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "nio-multicore", capacity: 2048, cacheSize: 0, policy: .anonymous), cores: 2)
        let shared = UnsafePorts(ports)
        let socketGroup = SocketGroup()
        let servers = try DataplaneEventLoopGroup(cores: 2, configuration: .init(idleSleepMicroseconds: 50)) { index in
            let stack = NetStack(pool: shared.ports.pool)
            try shared.ports.attach(0, core: index, to: stack, InterfaceConfiguration(
                address: IPv4Network(address: IPv4Address(10, 0, 0, 2), prefixLength: 24)!, announceOnStart: false))
            stack.start()
            return try SocketCore(stack: stack, group: socketGroup, configuration: TwoLoops.testConfiguration)
        }
        defer { try? servers.syncShutdownGracefully() }
        let clients = try DataplaneEventLoopGroup(cores: 1, configuration: .init(idleSleepMicroseconds: 50)) { _ in
            let stack = NetStack(pool: shared.ports.pool)
            try shared.ports.attach(1, to: stack, InterfaceConfiguration(
                address: IPv4Network(address: IPv4Address(10, 0, 0, 1), prefixLength: 24)!, announceOnStart: false))
            stack.start()
            return try SocketCore(stack: stack, group: SocketGroup(), configuration: TwoLoops.testConfiguration)
        }
        defer { try? clients.syncShutdownGracefully() }

        let servedOn = NIOLockedValueBox<[Int: Int]>([:])
        let server = try DataplaneServerBootstrap(group: servers)
            .childChannelInitializer { channel in
                let loop = (channel.eventLoop as! DataplaneEventLoop).index
                servedOn.withLockedValue { $0[loop, default: 0] += 1 }
                return channel.pipeline.addHandler(EchoHandler())
            }
            .bind(host: "10.0.0.2", port: 7200).wait()
        let count = 32
        let collectors = (0..<count).map { _ in Collector() }
        let channels = try collectors.map { collector in
            try DataplaneClientBootstrap(group: clients)
                .channelInitializer { $0.pipeline.addHandler(collector) }
                .connect(host: "10.0.0.2", port: 7200).wait()
        }
        for (i, channel) in channels.enumerated() { channel.writeAndFlush(ByteBuffer(string: "conn \(i)"), promise: nil) }
        #expect(eventually(seconds: 10) {
            collectors.enumerated().allSatisfy { i, collector in collector.bytes == Array("conn \(i)".utf8) }
        })
        let served = servedOn.withLockedValue { $0 }
        #expect(served.values.reduce(0, +) == count)
        #expect(served[0, default: 0] > 0 && served[1, default: 0] > 0, "\(served)")
        for channel in channels { try channel.close().wait() }
        try server.close().wait()
    }
}

struct UnsafePorts: @unchecked Sendable {
    let ports: StartedPorts
    init(_ ports: StartedPorts) { self.ports = ports }
}
