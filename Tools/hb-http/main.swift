// dp-hb-http: a Hummingbird 2 application (its Router, unchanged) on the
// data plane, or with --kernel as Hummingbird's own Application on NIOPosix.
import DataplaneNIO
import Glibc
import Hummingbird
import NIOCore
import NIOPosix
import NIOToolOptions
import Platform
import Wire

let options = ServerOptions.parse(Array(CommandLine.arguments.dropFirst()))
StopSignals.install()
let router = makeRouter(bodySize: options.bodySize)

/// Closes the server when a stop signal comes or --seconds pass.
@Sendable func closeOnStop(_ channel: Channel) async {
    print("hb-http: serving HTTP on \(options.listenHost):\(options.port) (\(options.kernel ? "NIOPosix" : "data plane"), \(options.cores) core(s), \(options.bodySize)-byte body)")
    fflush(nil)  // the test waits for this line
    Task.detached {
        let deadline = options.seconds > 0 ? NIODeadline.now() + .milliseconds(Int64(options.seconds * 1000)) : .distantFuture
        while !StopSignals.stopRequested && NIODeadline.now() < deadline { usleep(50_000) }
        try? await channel.close()
    }
}

do {
    if options.kernel {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.cores)
        let app = Application(router: router, configuration: .init(address: .hostname(options.listenHost, port: options.port)),
                              onServerRunning: closeOnStop, eventLoopGroupProvider: .shared(group))
        do { try await app.run() } catch { print("hb-http: \(error)") }
        try await group.shutdownGracefully()
    } else {
        guard let network = IPv4Network(options.ip!) else { fail("--ip '\(options.ip!)': expected A.B.C.D/PREFIX") }
        let group = try DataplaneEventLoopGroup(
            port: options.pci.map { .pci($0) } ?? .tap(options.tap!, mac: nil), address: network, gateway: options.gateway.flatMap(IPv4Address.init),
            cores: options.cores, configuration: options.loopConfiguration)
        let app = DataplaneApplication(router: router, group: group, host: options.listenHost, port: options.port)
        do { try await app.run(onServerRunning: closeOnStop) } catch { print("hb-http: \(error)") }
        try await group.shutdownGracefully()
    }
} catch {
    fail("\(error)")
}
print("hb-http: stopped")
