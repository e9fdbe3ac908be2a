import ArgumentParser
import Capture
import Foundation
import NetDevice
import Packets
import Platform
import Ports
import Sockets
import Telemetry
import Stack
// Imported directly (not only through Stack): the stats read TCP's types, and
// incremental builds recompile this file when TCP changes only for direct imports.
import TCP
import Wire

@main
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-echo",
        abstract: "Runs the Dataplane stack on one or more ports and serves UDP echo, TCP echo and TCP discard.",
        discussion: """
            Ports are taken in this order: --tap, then each --pci, then each --port; the i-th --ip is the
            i-th port's address (one --ip per port). Every service listens on every port.
            The kernel side of a tap (its address, routes) is configured by the caller, not by dp-echo.
            Examples:
              ip netns exec NS dp-echo --tap dp0 --ip 10.9.0.2/24 --udp-echo 7 --seconds 30 --stats-json stats.json
              dp-echo --pci 0000:00:10.0 --ip 10.0.0.2/24 --pci 0000:00:11.0 --ip 10.0.1.2/24 --udp-echo 7 --tcp-echo 7
            """)

    @Option(help: "Use the Linux tap device NAME (created in the current network namespace when absent).")
    var tap: String?

    @Option(help: "Use the PCI device at ADDR (inside the QEMU guest; repeatable).")
    var pci: [String] = []

    @Option(help: "Use the port SPEC: \(PortSpec.expected) (repeatable).")
    var port: [String] = []

    @Option(help: "The stack's address and prefix on a port, A.B.C.D/PREFIX (one per port, in port order); an IPv6 ADDR/PREFIX (repeatable) turns IPv6 on for the port of the IPv4 --ip before it (the first port when none is).")
    var ip: [String] = []

    @Option(name: .customLong("ipv6-dad"), help: "Duplicate address detection transmits per IPv6 address (0: none).")
    var ipv6DAD = 1

    /// The IPv4 --ip values, one per port.
    var ipv4Addresses: [String] { ip.filter { !$0.contains(":") } }

    /// The IPv6 --ip values by port (an IPv6 --ip belongs to the port of the
    /// IPv4 --ip before it).
    var ipv6Networks: [Int: [IPv6Network]] {
        var result: [Int: [IPv6Network]] = [:]
        var port = 0
        var seenIPv4 = 0
        for text in ip {
            if text.contains(":") {
                if let network = IPv6Network(text) { result[port, default: []].append(network) }
            } else {
                port = seenIPv4
                seenIPv4 += 1
            }
        }
        return result
    }

    @Option(help: "Default gateway A.B.C.D (on the interface's subnet).")
    var gateway: String?

    @Option(help: "A static route 'PREFIX via GW [dev PORT]' or 'PREFIX dev PORT' ('default' for 0.0.0.0/0; repeatable; Docs/OPERATIONS.md).")
    var route: [String] = []

    @Option(help: "A static ARP entry IP=MAC (repeatable).")
    var arp: [String] = []

    @Option(name: .customLong("route-config"), help: "Routes and ARP entries from FILE (lines 'route add ...' / 'arp add ...'; Docs/OPERATIONS.md).")
    var routeConfig: String?

    @Option(help: "The stack's MAC address (default: a random locally administered one).")
    var mac: String?

    @Option(help: "Interface MTU (default: the device's).")
    var mtu: Int?

    @Option(name: .customLong("udp-echo"), help: "Serve UDP echo on PORT (repeatable).")
    var udpEcho: [UInt16] = []

    @Option(name: .customLong("tcp-echo"), help: "Serve TCP echo on PORT (repeatable).")
    var tcpEcho: [UInt16] = []

    @Option(name: .customLong("tcp-discard"), help: "Serve TCP discard on PORT (repeatable).")
    var tcpDiscard: [UInt16] = []

    @Option(name: .customLong("tcp-sink"),
            help: "Serve a one-way TCP sink on PORT: keeps what arrives, then answers its count and sha256 (Tools/demo/tcp_oneway.py).")
    var tcpSink: [UInt16] = []

    @Option(name: .customLong("tcp-source"),
            help: "Serve a one-way TCP source on PORT: sends the COUNT bytes a request line asks for, then their sha256.")
    var tcpSource: [UInt16] = []

    @Option(name: .customLong("socket-buffer"),
            help: "Set SO_SNDBUF and SO_RCVBUF to BYTES on the TCP listeners (as iperf's -w): fixed rings instead of auto-tuned ones.")
    var socketBuffer: Int32?

    @Option(help: "Stop after N seconds (default: until SIGINT/SIGTERM).")
    var seconds: Double?

    @Option(name: .customLong("stop-port"),
            help: "End the run when a UDP datagram 'stop' arrives on PORT (a script's peer ends a lab run this way).")
    var stopPort: UInt16?

    @Flag(name: .customLong("watch-devices"),
          help: "Check each PCI port's device every 100 ms (link, reset, removal) and print DP-FAULT lines; a removed port's TCP connections fail with ENETDOWN, and the run ends when every port is gone (one core).")
    var watchDevices = false

    @Option(name: .customLong("stats-json"), help: "Write the stack's and the port's counters to FILE at exit.")
    var statsJSON: String?

    @Option(help: "Serve on N cores: each port's frames are spread over them by software RSS (Toeplitz hash), one stack and socket table per core.")
    var cores: Int = 1

    @Option(name: .customLong("pool-size"), help: "Packet buffers in the pool.")
    var poolSize: Int = 8192

    @Option(name: .customLong("transmit-backlog"),
            help: "Frames per interface kept when a device's transmit ring is full (StackLimits.transmitBacklog; 0: dropped at once, as before the backlog existed).")
    var transmitBacklog: Int = StackLimits().transmitBacklog

    @Option(name: .customLong("idle-sleep-us"),
            help: "Once idle (see --idle-spin-us), sleep this many microseconds between polls (0 never sleeps, as a poll-mode core does).")
    var idleSleepMicroseconds: UInt32 = 50

    @Option(name: .customLong("idle-spin-us"),
            help: "Keep polling without sleeping for this many microseconds after the last poll that found work, so a request-response exchange never waits on a sleep (with --idle interrupt it grows up to 16 times across short gaps under load).")
    var idleSpinMicroseconds: UInt64 = 2000

    @Option(help: "When the queues stay empty: poll (spin), sleep (nap --idle-sleep-us), or interrupt (arm the NIC's receive interrupt and sleep in epoll; sleep where a queue has none).")
    var idle: String = "sleep"

    @Option(name: .customLong("log-level"), help: "Log level of the libraries: trace, debug, info, notice, warning, error, critical (default: DP_LOG_LEVEL, else notice).")
    var logLevel: String?

    /// --idle with --idle-sleep-us and --idle-spin-us.
    var idlePolicy: IdlePolicy {
        IdlePolicy(mode: idle, sleepMicroseconds: idleSleepMicroseconds, spinMicroseconds: idleSpinMicroseconds)
            ?? IdlePolicy(sleepMicroseconds: idleSleepMicroseconds, spinMicroseconds: idleSpinMicroseconds)
    }

    @OptionGroup var captureOptions: CaptureOptions

    @OptionGroup var telemetryOptions: TelemetryOptions

    func validate() throws {
        let specs = try portSpecs()
        guard !specs.isEmpty else {
            throw ValidationError("give a port: --tap NAME, --pci ADDR or --port SPEC")
        }
        guard transmitBacklog >= 0 else { throw ValidationError("--transmit-backlog \(transmitBacklog): give 0 or more frames") }
        guard ipv4Addresses.count == specs.count else {
            throw ValidationError("\(specs.count) port(s) (\(specs.map(\.description).joined(separator: ", "))) but \(ipv4Addresses.count) IPv4 --ip: give one IPv4 --ip per port, in port order")
        }
        for address in ip where address.contains(":") {
            guard let network = IPv6Network(address), address.contains("/"), !network.address.isMulticast else {
                throw ValidationError("--ip '\(address)': expected an IPv6 ADDRESS/PREFIX, e.g. fd20::2/64")
            }
        }
        for address in ipv4Addresses {
            guard IPv4Network(address) != nil, address.contains("/") else {
                throw ValidationError("--ip '\(address)': expected A.B.C.D/PREFIX, e.g. 10.9.0.2/24")
            }
        }
        if let gateway, IPv4Address(gateway) == nil {
            throw ValidationError("--gateway '\(gateway)': expected A.B.C.D")
        }
        _ = try routeCommands()
        guard IdlePolicy.Mode(rawValue: idle) != nil else { throw ValidationError("--idle '\(idle)': use poll, sleep or interrupt") }
        if let logLevel, DataplaneLog.parseLevel(logLevel) == nil {
            throw ValidationError("--log-level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
        if let mac, MACAddress(mac)?.isValidUnicast != true {
            throw ValidationError("--mac '\(mac)': expected a unicast address like 02:00:00:00:00:01")
        }
        guard (1...64).contains(cores) else {
            throw ValidationError("--cores \(cores): use 1...64")
        }
        if let seconds, !(seconds > 0) {
            throw ValidationError("--seconds \(seconds): must be positive")
        }
    }

    /// --route-config's lines, then each --route and --arp.
    func routeCommands() throws -> [RouteCommand] {
        do {
            var commands: [RouteCommand] = []
            if let routeConfig {
                guard let text = try? String(contentsOfFile: routeConfig, encoding: .utf8) else {
                    throw ValidationError("--route-config '\(routeConfig)': cannot read the file")
                }
                commands += try RouteCommand.parseFile(text)
            }
            commands += try route.map { text throws(StackError) in try RouteCommand(routeFlag: text) }
            commands += try arp.map { text throws(StackError) in try RouteCommand(arpFlag: text) }
            return commands
        } catch let error as StackError {
            throw ValidationError(error.description)
        }
    }

    /// The ports in the order the help text states.
    func portSpecs() throws -> [PortSpec] {
        var specs: [PortSpec] = []
        if let tap { specs.append(.tap(tap, mac: mac.flatMap(MACAddress.init))) }
        for address in pci {
            guard PCIAddress(address) != nil else {
                throw ValidationError("--pci '\(address)': expected DOMAIN:BUS:DEVICE.FUNCTION, e.g. 0000:00:10.0")
            }
            specs.append(.pci(address))
        }
        for text in port {
            guard let spec = PortSpec(text) else { throw ValidationError("--port '\(text)': expected \(PortSpec.expected)") }
            specs.append(spec)
        }
        return specs
    }

    func run() throws {
        DataplaneLog.bootstrap()
        if let logLevel { DataplaneLog.level = DataplaneLog.parseLevel(logLevel)! }
        let networks = ipv4Addresses.map { IPv4Network($0)! }
        let ports: StartedPorts
        do {
            ports = try PortBringUp.start(try portSpecs(), pool: PoolRequest(name: "dp-echo", capacity: poolSize), cores: cores)
        } catch {
            throw failure("\(error)")
        }
        StopSignals.install()
        let capture: CaptureSession?
        let telemetry: DataplaneTelemetry?
        do {
            capture = try captureOptions.start(portNames: ports.ports.map(\.label))
            telemetry = try telemetryOptions.start(ports: ports)
        } catch {
            throw failure("\(error)")
        }
        defer { telemetry?.stop() }
        say("dp-echo: " + ports.ports.enumerated().map { index, port in
                "\(port.label) \(networks[index])\((ipv6Networks[index] ?? []).map { " \($0)" }.joined()) mac \(port.device.macAddress) mtu \(mtu ?? port.device.info.mtu)"
              }.joined(separator: "; ")
              + (udpEcho.isEmpty ? "" : " udp echo on \(udpEcho.map(String.init).joined(separator: ","))")
              + (tcpEcho.isEmpty ? "" : " tcp echo on \(tcpEcho.map(String.init).joined(separator: ","))")
              + (tcpDiscard.isEmpty ? "" : " tcp discard on \(tcpDiscard.map(String.init).joined(separator: ","))")
              + (tcpSink.isEmpty ? "" : " tcp sink on \(tcpSink.map(String.init).joined(separator: ","))")
              + (tcpSource.isEmpty ? "" : " tcp source on \(tcpSource.map(String.init).joined(separator: ","))")
              + (cores > 1 ? " on \(cores) cores (" + ports.spreads.map(\.description).joined(separator: "; ") + ")" : "")
              + (seconds.map { " for \($0) s" } ?? "")
              + (idle == "sleep" ? "" : " idle \(idle)")
              + (capture.map { " capturing to \($0.description)" } ?? "")
              + (telemetry.map { " telemetry \($0.server.path)" } ?? ""))
        let started = TSCClock.monotonicNanoseconds()
        let runs: [CoreRun]
        do {
            runs = try serveOnCores(cores, ports: ports, networks: networks, routes: try routeCommands(), since: started,
                                    capture: capture, telemetry: telemetry)
        } catch {
            capture?.stopAfterCoresEnded()
            capture?.wait()
            throw failure("\(error)")
        }
        if let capture {
            capture.stopAfterCoresEnded()
            let summary = capture.wait()
            say("dp-echo: capture: \(summary.packets) packets, \(summary.dropped) dropped, \(summary.bytes) bytes"
                  + (summary.error.map { ", write error: \($0)" } ?? ""))
        }
        let elapsed = Double(TSCClock.monotonicNanoseconds() - started) / 1e9
        let stacks = runs.compactMap(\.stack)
        let tcp = runs.compactMap(\.services?.tcp)
        let echoed = runs.map(\.echoed).reduce(0, +)
        say("dp-echo: \(String(format: "%.1f", elapsed)) s, \(echoed) datagrams echoed, "
              + "\(tcp.map(\.accepted).reduce(0, +)) TCP connections, \(tcp.map(\.bytesEchoed).reduce(0, +)) TCP bytes echoed, "
              + "\(tcp.map(\.bytesDiscarded).reduce(0, +)) discarded, "
              + "\(stacks.map { $0.counters[.icmpEchoReplies] + $0.counters[.icmpv6EchoReplies] }.reduce(0, +)) pings answered, "
              + "\(stacks.map(\.counters.totalDropped).reduce(0, +)) dropped")
        if tcp.contains(where: { $0.partialSends > 0 }) {
            say("dp-echo: tcp echo: \(tcp.map(\.partialSends).reduce(0, +)) sends took part of the bytes, "
                  + "\(tcp.map(\.bytesCompacted).reduce(0, +)) bytes moved to make room")
        }
        for port in ports.ports {
            // Offload proof (virtio): frames the host cut (TSO/TSO6) or coalesced (GUEST_TSO4/6).
            let extended = port.device.statistics().extended
            if let sent = extended["tx_gso_frames"], let received = extended["rx_gso_frames"] {
                say("dp-echo: \(port.label) gso frames: \(sent) sent, \(received) received")
            }
        }
        if idle == "interrupt" {
            for (index, idle) in runs.compactMap({ $0.services?.core.idle }).enumerated() {
                say("dp-echo: core \(index) idle \(idle.effectiveMode): \(idle.interruptWaits) interrupt waits, "
                      + "\(idle.interruptWakeups) woken before the timeout, \(idle.armedButBusy) armed and found work at once"
                      + (idle.effectiveMode == .interrupt ? "; signalled by " + idle.interruptKinds.joined(separator: ", ") : ""))
            }
        }
        if cores > 1 {
            for (index, run) in runs.enumerated() {
                say("dp-echo: core \(index): \(run.echoed) datagrams echoed, \(run.services?.tcp.accepted ?? 0) TCP connections, "
                      + "\(run.stack?.counters[.flowOnWrongCore] ?? 0) on the wrong core")
            }
        }
        if let statsJSON {
            try writeStatistics(to: statsJSON, runs: runs, ports: ports, elapsed: elapsed)
        }
        ports.stop()
    }

    /// Unbuffered, so a caller reading our output sees it at once.
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("dp-echo: \(message)\n".utf8))
        return ExitCode(2)
    }
}
