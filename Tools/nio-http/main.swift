// dp-nio-http: NIO's HTTP/1.1 server pipeline (configureHTTPServerPipeline
// and a plain handler) on the data plane, or with --kernel on NIOPosix,
// the only difference being the event loop group and the bootstrap.
import DataplaneNIO
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOToolOptions
import Platform
import Ports
import Wire

let options = ServerOptions.parse(Array(CommandLine.arguments.dropFirst()))
StopSignals.install()
let initializer = httpChildInitializer(bodySize: options.bodySize)

let group: EventLoopGroup
let server: Channel
do {
    if options.kernel {
        group = MultiThreadedEventLoopGroup(numberOfThreads: options.cores)
        server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer(initializer)
            .bind(host: options.listenHost, port: options.port).wait()
    } else {
        guard let network = IPv4Network(options.ip!) else { fail("--ip '\(options.ip!)': expected A.B.C.D/PREFIX") }
        let dataplane = try DataplaneEventLoopGroup(
            port: options.pci.map { .pci($0) } ?? .tap(options.tap!, mac: nil), address: network, gateway: options.gateway.flatMap(IPv4Address.init),
            cores: options.cores, configuration: options.loopConfiguration)
        group = dataplane
        server = try DataplaneServerBootstrap(group: dataplane)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer(initializer)
            .bind(host: options.listenHost, port: options.port).wait()
    }
} catch {
    fail("\(error)")
}
print("nio-http: serving HTTP on \(options.listenHost):\(options.port) (\(options.kernel ? "NIOPosix" : "data plane"), \(options.cores) core(s), \(options.bodySize)-byte body)")
fflush(nil)  // all streams: the test waits for this line
let deadline = options.seconds > 0 ? NIODeadline.now() + .milliseconds(Int64(options.seconds * 1000)) : .distantFuture
while !StopSignals.stopRequested && NIODeadline.now() < deadline { usleep(50_000) }
try? server.close().wait()
try? group.syncShutdownGracefully()
print("nio-http: stopped")
