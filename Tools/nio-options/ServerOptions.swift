import DataplaneNIO
import Glibc
import Stack

/// The flags of the NIO example servers (dp-nio-http, dp-hb-http), shared
/// so that a benchmark drives both the same way. dp-echo-like flags: `--tap NAME --ip A.B.C.D/P --port N`, or `--kernel`
/// to serve the same pipeline on NIOPosix (the kernel's sockets).
public struct ServerOptions: Sendable {
    public var tap: String?
    /// A PCI device bound for user space (in the lab guest), instead of a tap.
    public var pci: String?
    public var ip: String?
    public var gateway: String?
    public var port = 8080
    public var cores = 1
    public var kernel = false
    public var bodySize = 1024
    public var seconds = 0.0
    public var idleSleepMicroseconds: UInt32 = 20
    /// `--idle interrupt`: the cores wait on the NIC's receive interrupt when quiet.
    public var idleInterrupt = false

    public static let usage = """
        usage: PROGRAM (--tap NAME | --pci ADDR) --ip A.B.C.D/P | --kernel [--ip A.B.C.D]) [--port N] [--cores N]
                       [--gateway A.B.C.D] [--size BYTES] [--seconds S] [--idle-sleep-us N] [--idle sleep|interrupt]
        Serves GET / with a body of --size bytes (default 1024) until SIGINT/SIGTERM or --seconds.
        """

    public static func parse(_ arguments: [String]) -> ServerOptions {
        var options = ServerOptions()
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        func number(_ text: String) -> Int {
            guard let n = Int(text), n >= 0 else { fail("'\(text)' is not a number") }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--tap": options.tap = value()
            case "--pci": options.pci = value()
            case "--ip": options.ip = value()
            case "--gateway": options.gateway = value()
            case "--port": options.port = number(value())
            case "--cores": options.cores = max(number(value()), 1)
            case "--kernel": options.kernel = true
            case "--size": options.bodySize = number(value())
            case "--seconds": options.seconds = Double(number(value()))
            case "--idle-sleep-us": options.idleSleepMicroseconds = UInt32(min(number(value()), 1_000_000))
            case "--idle":
                switch value() {
                case "interrupt": options.idleInterrupt = true
                case "sleep": options.idleInterrupt = false
                case let other: fail("--idle '\(other)': expected sleep or interrupt")
                }
            case "-h", "--help":
                print(usage)
                exit(0)
            case let other: fail("unknown flag \(other)")
            }
            i += 1
        }
        if !options.kernel && ((options.tap == nil) == (options.pci == nil) || options.ip == nil) {
            fail("give --tap NAME or --pci ADDR, and --ip (or --kernel)")
        }
        return options
    }

    /// The data-plane group's configuration: its idle (--idle-sleep-us, --idle) on core 0 onward.
    public var loopConfiguration: DataplaneEventLoopGroup.Configuration {
        var configuration = DataplaneEventLoopGroup.Configuration(idleSleepMicroseconds: idleSleepMicroseconds, firstCoreIndex: 0)
        if idleInterrupt { configuration.idlePolicy = IdlePolicy(mode: .interrupt) }
        return configuration
    }

    /// The address to listen on: the data plane's own, or any for the kernel.
    public var listenHost: String {
        if kernel { return ip.map { String($0.split(separator: "/")[0]) } ?? "0.0.0.0" }
        return String(ip!.split(separator: "/")[0])
    }
}

public func fail(_ message: String) -> Never {
    let text = "error: \(message)\n\(ServerOptions.usage)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}
