import ArgumentParser
import Atomics
import CPlatform
import NetDevice
import Packets
import Platform
import Ports
import Wire
#if canImport(Glibc)
import Glibc
#endif

@main
struct DPTestPMD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-testpmd",
        abstract: "Forward, receive or generate packets on Dataplane ports (DPDK testpmd's role).",
        discussion: """
            Ports are PCI functions bound to vfio-pci or uio_pci_generic (inside the lab guest only), \
            opened by the driver their vendor:device IDs name (e1000: 8086:100e), then null ports, then \
            taps, in that order. Ports pair up for io and macswap: 0<->1, 2<->3; a lone port sends back \
            on itself. The run ends after --seconds, or once --count packets were handled.
            """)

    @Option(name: .customLong("pci"), help: "A port: PCI address (repeatable), e.g. 0000:00:10.0.")
    var pciAddresses: [String] = []

    @Flag(name: .customLong("null"), help: "A null port (receive yields copies of a txonly frame, transmit frees); repeat for more.")
    var nullPorts: Int

    @Option(name: .customLong("tap"), help: "A tap port in the current network namespace, created when missing (repeatable).")
    var taps: [String] = []

    @Option(name: .customLong("forward-mode"), help: "io, macswap, rxonly or txonly.")
    var mode: ForwardingMode = .io

    @Option(help: "Packets per receive or transmit burst.")
    var burst = 32

    @Option(help: "Receive ring size (descriptors).")
    var rxd = 256

    @Option(help: "Transmit ring size (descriptors).")
    var txd = 256

    @Option(help: "Forwarding cores (each queue is polled by one core).")
    var cores = 1

    @Option(help: "Receive queues per port (as DPDK's testpmd; give --txq the same: queue i of a port is forwarded to queue i of its peer by one core).")
    var rxq = 1

    @Option(help: "Transmit queues per port (equal to --rxq).")
    var txq = 1

    @Option(name: .customLong("pool-size"), help: "Packet buffers in the pool (default: enough for every ring and core).")
    var poolSize: Int?

    @Option(name: .customLong("frame-size"), help: "txonly: bytes per frame without FCS (42...1518).")
    var frameSize = 64

    @Option(help: "txonly: UDP flows (source ports 1024...).")
    var flows = 1

    @Option(help: "txonly: packets per second per port (default: as fast as the port takes them).")
    var rate: UInt64?

    @Option(name: .customLong("eth-peer"), help: "txonly: destination MAC of generated frames.")
    var ethPeer = "02:00:00:00:00:01"

    @Flag(name: .customLong("tx-checksum-offload"), help: "txonly: leave IPv4/UDP checksums zero and let the device fill them in.")
    var checksumOffload = false

    @Flag(help: "Accept every frame (promiscuous mode).")
    var promiscuous = false

    @Option(help: "Stop after this many seconds.")
    var seconds: Double = 10

    @Option(help: "Stop after this many packets: txonly sends exactly this many per port; rxonly/io stop once this many were received in total (checked every 20 ms).")
    var count: UInt64?

    @Option(name: .customLong("stats-period"), help: "Print per-port and per-queue statistics every N seconds (0: only the summary).")
    var statsPeriod: Double = 0

    @Option(help: "Write the final statistics as JSON to this file.")
    var json: String?

    @Option(name: .customLong("ready-file"), help: "Create this file once every port is started and the cores run (for scripts that must not send earlier).")
    var readyFile: String?

    @Flag(help: "Print each port's information (driver, limits, offloads, notes, link) and exit.")
    var info = false

    func validate() throws {
        guard !pciAddresses.isEmpty || nullPorts > 0 || !taps.isEmpty else {
            throw ValidationError("give at least one port: --pci ADDRESS, --null or --tap NAME")
        }
        guard (1...512).contains(burst) else { throw ValidationError("--burst \(burst): 1...512") }
        guard (1...Cores.maximumCount).contains(cores) else { throw ValidationError("--cores \(cores): 1...\(Cores.maximumCount)") }
        guard (42...1518).contains(frameSize) else { throw ValidationError("--frame-size \(frameSize): 42...1518 bytes (UDP/IPv4 headers take 42)") }
        guard (1...4096).contains(flows) else { throw ValidationError("--flows \(flows): 1...4096") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard MACAddress(ethPeer) != nil else { throw ValidationError("--eth-peer '\(ethPeer)' is not a MAC address") }
        if let poolSize, poolSize < 1 { throw ValidationError("--pool-size must be positive") }
        guard (1...64).contains(rxq), rxq == txq else {
            throw ValidationError("--rxq \(rxq) --txq \(txq): give equal counts, 1...64 (each core owns a queue pair)")
        }
    }

    func run() throws {
        let opened = openPorts()
        let ports = opened.map(\.device)
        if info {
            for (index, port) in opened.enumerated() { printInfo(index: index, port: port) }
            return
        }

        let (pool, capacity) = startPorts(opened)
        let engine = makeEngine(ports: ports, pool: pool)
        let available = Cores.availableCPUs()
        let coreCount = engine.coreCount
        let cpus = (0..<coreCount).map { available[(available.count - coreCount + $0 + available.count) % available.count] }
        print("dp-testpmd: \(mode.rawValue) on \(ports.count) port(s), \(coreCount) core(s) on cpu \(cpus), burst \(burst), rxd \(rxd), txd \(txd), pool \(capacity)")

        let group: CoreGroup
        do {
            group = try Cores.launch(on: cpus) { core in engine.run(core: core.index) }
        } catch {
            fail("starting cores: \(error)")
        }
        // This thread only waits and prints: off the polling CPUs when the
        // guest has others (as DPDK's main lcore), so it never preempts a core.
        _ = try? Cores.keepCallerOff(cpus)

        if let readyFile {
            if let problem = createFile(readyFile, contents: "ready\n") { fail(problem) }
        }
        let clock = TSCClock.shared
        let start = TSCClock.cycles()
        func elapsed() -> Double { Double(TSCClock.cycles() &- start) / Double(clock.cyclesPerSecond) }
        waitUntilDone(opened: opened, engine: engine, elapsed: elapsed)
        engine.stopRequested.store(true, ordering: .releasing)
        group.wait()
        let duration = elapsed()
        // Let the devices finish what is in their rings before the reset.
        usleep(100_000)
        let final = ports.map { $0.statistics() }
        summary(opened: opened, final: final, engine: engine, duration: duration)
        for port in ports { port.stop() }
        if let json {
            writeJSON(path: json, opened: opened, final: final, engine: engine, duration: duration)
        }
    }

    /// The ports in command-line order: PCI, null, tap.
    func openPorts() -> [OpenedPort] {
        var opened = [OpenedPort]()
        do {
            for address in pciAddresses { opened.append(try PortOpener.openPCI(address)) }
            let template = FrameTemplates.frame(
                size: frameSize, sourcePort: FrameTemplates.firstSourcePort, source: MACAddress(0x02, 0, 0, 0, 0, 0x0e),
                destination: MACAddress(ethPeer)!, checksums: true)
            for index in 0..<nullPorts { opened.append(try PortOpener.openNull(index: index, template: template)) }
            for name in taps { opened.append(try PortOpener.openTap(name)) }
        } catch {
            fail("port: \(error)")
        }
        return opened
    }

    /// Brings every port up on one pool (--pool-size, or enough for every
    /// ring and core) through the one bring-up, then prints its MAC and link.
    func startPorts(_ opened: [OpenedPort]) -> (pool: PacketPool, capacity: Int) {
        let cacheSize = 256
        let capacity = poolSize ?? (opened.count * rxq * (rxd + txd) + cores * (cacheSize * 2 + burst * 4) + 1024)
        let configuration = PortConfiguration(
            receiveQueues: rxq, transmitQueues: txq, receiveRingSize: rxd, transmitRingSize: txd, receivePools: [],
            transmitOffloads: checksumOffload ? [.txIPv4, .txIPChecksum, .txUDPChecksum] : [],
            promiscuous: promiscuous)
        let started: StartedPorts
        do {
            // IOVA = physical when any port needs it (UIO); VFIO maps either.
            started = try PortBringUp.start(opened, pool: PoolRequest(name: "testpmd", capacity: capacity,
                                                                      cacheSize: min(cacheSize, capacity * 2 / 3)),
                                            configuration: configuration)
        } catch {
            fail("ports \(opened.map(\.label).joined(separator: ", ")) with a pool of \(capacity) buffers: \(error)")
        }
        for (index, port) in opened.enumerated() {
            print("port \(index) \(port.label): mac \(port.device.macAddress), link \(port.device.linkStatus())")
        }
        return (started.pool, capacity)
    }

    func makeEngine(ports: [any NetDevice], pool: PacketPool) -> ForwardingEngine {
        let peer = MACAddress(ethPeer)!
        let templates = ports.map {
            FrameTemplates(frameSize: frameSize, flows: flows, source: $0.macAddress, destination: peer, checksumsByDevice: checksumOffload)
        }
        return ForwardingEngine(
            mode: mode, ports: ports, queues: rxq, coreCount: min(cores, ports.count * rxq), burstSize: burst, pool: pool,
            transmitLimit: mode == .txonly ? count : nil, transmitRate: rate, templates: templates,
            checksumsByDevice: checksumOffload)
    }

    /// Polls every 20 ms, printing statistics every --stats-period, until
    /// --seconds passed, --count packets were handled (not txonly) or every
    /// core finished.
    func waitUntilDone(opened: [OpenedPort], engine: ForwardingEngine, elapsed: () -> Double) {
        let ports = opened.map(\.device)
        var lastReport = (0..<ports.count).map { _ in PortSnapshot(statistics: PortStatistics(), seconds: 0) }
        var lastStreams = (0..<engine.streams.count).map { _ in StreamCounter() }
        var nextReport = statsPeriod
        while true {
            // Wake at most ten times a second (a wake-up on a busy guest
            // costs the polling vCPU host time), sooner for a due report.
            let untilDue = min(seconds - elapsed(), statsPeriod > 0 ? nextReport - elapsed() : 0.1)
            usleep(UInt32(max(1_000, min(100_000, untilDue * 1e6))))
            let now = elapsed()
            let handled = (0..<engine.streams.count).reduce(UInt64(0)) { sum, i in
                sum + (mode == .txonly ? engine.counters[i].transmittedPackets : engine.counters[i].receivedPackets)
            }
            if statsPeriod > 0, now >= nextReport {
                nextReport += statsPeriod
                printPeriodicStatistics(opened: opened, engine: engine, now: now, lastReport: &lastReport, lastStreams: &lastStreams)
            }
            if now >= seconds { break }
            if let count, mode != .txonly, handled >= count { break }
            if engine.finishedCores.load(ordering: .acquiring) == engine.coreCount { break }
        }
    }

    func printPeriodicStatistics(
        opened: [OpenedPort], engine: ForwardingEngine, now: Double,
        lastReport: inout [PortSnapshot], lastStreams: inout [StreamCounter]
    ) {
        for (index, port) in opened.map(\.device).enumerated() {
            let snapshot = PortSnapshot(statistics: port.statistics(), seconds: now)
            StatisticsReport.portLines(index: index, label: opened[index].label, now: snapshot, before: lastReport[index]).forEach { print($0) }
            for (s, stream) in engine.streams.enumerated() where stream.receivePort == index {
                print(StatisticsReport.queueLine(port: index, queue: stream.queue, stream: engine.counters[s], before: lastStreams[s], seconds: now - lastReport[index].seconds))
                lastStreams[s] = engine.counters[s]
            }
            lastReport[index] = snapshot
        }
    }

    func printInfo(index: Int, port: OpenedPort) {
        let info = port.device.info
        print("port \(index): \(port.label)")
        print("  driver \(info.driverName), device \(info.deviceName), mac \(port.device.macAddress), link \(port.device.linkStatus())")
        print("  queues rx \(info.maximumReceiveQueues) tx \(info.maximumTransmitQueues), ring sizes \(info.ringSizes.lowerBound)...\(info.ringSizes.upperBound) in multiples of \(info.ringSizeAlignment)")
        print("  max frame \(info.maximumFrameLength) bytes, mtu \(info.mtu)")
        print("  rx offloads 0x\(String(info.receiveOffloads.rawValue, radix: 16)), tx offloads 0x\(String(info.transmitOffloads.rawValue, radix: 16))")
        for note in info.notes { print("  note: \(note)") }
    }

    func summary(opened: [OpenedPort], final: [PortStatistics], engine: ForwardingEngine, duration: Double) {
        print("---- summary: \(mode.rawValue), \(StatisticsReport.fixed(duration)) s ----")
        for (index, statistics) in final.enumerated() {
            let zero = PortSnapshot(statistics: PortStatistics(), seconds: 0)
            StatisticsReport.portLines(index: index, label: opened[index].label, now: PortSnapshot(statistics: statistics, seconds: duration), before: zero).forEach { print($0) }
            for (s, stream) in engine.streams.enumerated() where stream.receivePort == index {
                print(StatisticsReport.queueLine(port: index, queue: stream.queue, stream: engine.counters[s], before: StreamCounter(), seconds: duration))
            }
            let extended = statistics.extended.filter { $0.value != 0 }.sorted { $0.key < $1.key }
            if !extended.isEmpty { print("  extended: " + extended.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        }
        let dropped = (0..<engine.streams.count).reduce(UInt64(0)) { $0 + engine.counters[$1].transmitDropped }
        print("total: rx \(final.reduce(0) { $0 + $1.receivedPackets }) tx \(final.reduce(0) { $0 + $1.transmittedPackets }) tx-dropped \(dropped)")
    }

    func writeJSON(path: String, opened: [OpenedPort], final: [PortStatistics], engine: ForwardingEngine, duration: Double) {
        var portValues = [JSON.Value]()
        for (index, s) in final.enumerated() {
            let queues = engine.streams.enumerated().filter { $0.element.receivePort == index }.map { (i, stream) -> JSON.Value in
                let c = engine.counters[i]
                return .object([
                    ("queue", .integer(UInt64(stream.queue))), ("transmit_port", .integer(UInt64(stream.transmitPort))),
                    ("rx_packets", .integer(c.receivedPackets)), ("rx_bytes", .integer(c.receivedBytes)),
                    ("tx_packets", .integer(c.transmittedPackets)), ("tx_bytes", .integer(c.transmittedBytes)),
                    ("tx_dropped", .integer(c.transmitDropped)), ("bursts", .integer(c.bursts)), ("empty_bursts", .integer(c.emptyBursts)),
                ])
            }
            portValues.append(.object([
                ("port", .integer(UInt64(index))), ("label", .string(opened[index].label)),
                ("driver", .string(opened[index].device.info.driverName)), ("mac", .string("\(opened[index].device.macAddress)")),
                ("rx_packets", .integer(s.receivedPackets)), ("rx_bytes", .integer(s.receivedBytes)),
                ("tx_packets", .integer(s.transmittedPackets)), ("tx_bytes", .integer(s.transmittedBytes)),
                ("rx_missed", .integer(s.receiveMissed)), ("rx_errors", .integer(s.receiveErrors)),
                ("tx_errors", .integer(s.transmitErrors)), ("rx_no_buffer", .integer(s.receiveNoBuffer)),
                ("rx_pps", .number(duration > 0 ? Double(s.receivedPackets) / duration : 0)),
                ("tx_pps", .number(duration > 0 ? Double(s.transmittedPackets) / duration : 0)),
                ("queues", .array(queues)),
                ("extended", .object(s.extended.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ]))
        }
        let fields: [(String, JSON.Value)] = [
            ("tool", .string("dp-testpmd")), ("mode", .string(mode.rawValue)), ("seconds", .number(duration)),
            ("burst", .integer(UInt64(burst))), ("rxd", .integer(UInt64(rxd))), ("txd", .integer(UInt64(txd))),
            ("cores", .integer(UInt64(engine.coreCount))), ("frame_size", .integer(UInt64(frameSize))),
            ("ports", .array(portValues)),
        ]
        let text = JSON.render(.object(fields)) + "\n"
        if let problem = createFile(path, contents: text) { fail(problem) }
    }

    func fail(_ message: String) -> Never {
        var line = "dp-testpmd: " + message + "\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
        Glibc.exit(1)
    }
}

/// Creates (or replaces) a regular file; returns what went wrong, or nil.
func createFile(_ path: String, contents: String) -> String? {
    guard let file = fopen(path, "w") else {
        return "cannot create \(path): \(String(cString: strerror(errno)))"
    }
    defer { fclose(file) }
    let bytes = Array(contents.utf8)
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else {
        return "cannot write \(path): \(String(cString: strerror(errno)))"
    }
    return nil
}
