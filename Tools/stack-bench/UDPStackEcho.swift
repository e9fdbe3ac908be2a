import Capture
import MallocInterposerSwift
import NetDevice
import Packets
import Platform
import Ports
import Stack
import Telemetry
import Wire

/// UDP echo between two stacks over a LoopbackPair: each round the client
/// sends up to `burst` datagrams of `payloadSize` bytes, the server echoes
/// what it got, the client takes the answers. Mallocs are counted in the
/// steady state (after a warm-up) by the interposer.
struct UDPStackEcho {
    let payloadSize: Int
    let burst: Int
    let warmupPackets: Int
    let measuredPackets: Int
    /// Off when several echoes run at once (the interposer counts process-wide).
    var countsMallocs = true
    /// Called after the warm-up, just before measuring (a start line for parallel runs).
    var beforeMeasuring: () -> Void = {}
    /// --capture FILE: the client stack records both directions (the cost
    /// of an active capture; without it, the cost of the hook alone).
    var capturePath: String?
    /// --telemetry-interval-ms: a telemetry thread asks the client stack for
    /// `/cores` this often while measuring (the cost of being watched).
    var telemetryIntervalMilliseconds: Double?

    struct Result {
        var echoed = 0
        var sent = 0
        var seconds = 0.0
        var mallocs = 0
        var mallocBytes = 0
        var frees = 0
        /// Drops counted by both stacks, and the drop counters by name.
        var dropped: UInt64 = 0
        var drops: [String: UInt64] = [:]
        /// Every named counter of each stack (for a short echo's error).
        var clientCounters: [String: UInt64] = [:]
        var serverCounters: [String: UInt64] = [:]
        var mallocsPerRoundTrip: Double { Double(mallocs) / Double(max(echoed, 1)) }
        var capture: CaptureSummary?
        var telemetryAnswers = 0
    }

    /// The two stacks and their endpoints.
    final class Link {
        let ports: StartedPorts
        let pool: PacketPool
        let client: NetStack
        let server: NetStack
        let serverEndpoint: UDPEndpoint
        let clientEndpoint: UDPEndpoint
        let destination = (address: IPv4Address(10, 0, 0, 2), port: UInt16(7))

        init() throws {
            // Host ports: hugepages when there are some, else anonymous memory.
            ports = try PortBringUp.startLoopbackPair(ringSize: 1024, pool: PoolRequest(name: "stack-bench", capacity: 8192))
            pool = ports.pool
            client = NetStack(pool: pool)
            server = NetStack(pool: pool)
            try ports.attach(0, to: client, InterfaceConfiguration(address: IPv4Network("10.0.0.1/24")!, announceOnStart: false))
            try ports.attach(1, to: server, InterfaceConfiguration(address: IPv4Network("10.0.0.2/24")!, announceOnStart: false))
            client.start()
            server.start()
            serverEndpoint = try server.udpBind(port: 7)
            clientEndpoint = try client.udpBind(port: 40000)
        }
    }

    /// Datagrams sent and echoed so far, and rounds run.
    struct Progress {
        var echoed = 0
        var sent = 0
        var rounds = 0
    }

    func run() throws -> Result {
        let link = try Link()
        let capture = try capturePath.map { path in
            try CaptureSession(configuration: CaptureConfiguration(packetLimit: nil), portNames: ["loopback 0"], path: path)
        }
        link.client.capture = capture?.makeCore()
        let watcher = telemetryIntervalMilliseconds.map { TelemetryWatcher(stack: link.client, pool: link.pool, intervalMilliseconds: $0) }
        var progress = Progress()
        // Lost datagrams (counted drops) must not make these loops endless.
        while progress.echoed < warmupPackets && progress.sent < warmupPackets && progress.rounds < warmupPackets * 4 {
            try round(link, &progress, limit: warmupPackets)
        }
        progress.echoed = 0
        progress.sent = 0
        beforeMeasuring()
        watcher?.start()
        if countsMallocs { MallocInterposerSwift.initialize() }
        let start = TSCClock.monotonicNanoseconds()
        if countsMallocs { MallocInterposerSwift.hook() }
        progress.rounds = 0
        while progress.sent < measuredPackets && progress.rounds < measuredPackets * 4 {
            try round(link, &progress, limit: measuredPackets)
        }
        if countsMallocs { MallocInterposerSwift.unhook() }
        var result = Result()
        result.telemetryAnswers = watcher?.stop() ?? 0
        result.seconds = Double(TSCClock.monotonicNanoseconds() - start) / 1e9
        let statistics = countsMallocs ? MallocInterposerSwift.getStatistics() : .init()
        result.echoed = progress.echoed
        result.sent = progress.sent
        result.mallocs = statistics.mallocCount
        result.mallocBytes = statistics.mallocBytesCount
        result.frees = statistics.freeCount
        result.dropped = link.client.counters.totalDropped + link.server.counters.totalDropped
        result.clientCounters = link.client.counters.named
        result.serverCounters = link.server.counters.named
        result.drops = result.clientCounters.merging(result.serverCounters, uniquingKeysWith: +).filter { $0.key.hasPrefix("drop.") }
        if let capture {
            capture.stopAfterCoresEnded()
            result.capture = capture.wait()
        }
        return result
    }

    /// One round: the client sends up to `burst` datagrams, the server
    /// echoes what it got, the client takes the answers.
    private func round(_ link: Link, _ progress: inout Progress, limit: Int) throws {
        var inRound = 0
        while inRound < burst && progress.sent < limit {
            guard let payload = makePayload(link.pool) else { break }
            payload.data.storeBytes(of: UInt64(progress.sent), as: UInt64.self)
            try link.client.udpSend(link.clientEndpoint, payload, to: link.destination)
            progress.sent += 1
            inRound += 1
        }
        // Poll until both sides are idle (a fragmented burst takes
        // several receive bursts).
        var idleIterations = 0
        while idleIterations < 2 {
            var busy = link.client.poll() > 0
            busy = link.server.poll() > 0 || busy
            while let request = try link.server.udpReceive(link.serverEndpoint) {
                try link.server.udpSend(link.serverEndpoint, request.payload, to: (request.source, request.sourcePort))
                busy = true
            }
            while let reply = try link.client.udpReceive(link.clientEndpoint) {
                reply.payload.free()
                progress.echoed += 1
            }
            idleIterations = busy ? 0 : idleIterations + 1
        }
        progress.rounds += 1
    }

    /// A payload of `payloadSize` bytes, chained when it does not fit one buffer.
    private func makePayload(_ pool: PacketPool) -> PacketBuffer? {
        var head: PacketBuffer?
        var remaining = max(payloadSize, 8)
        while remaining > 0 {
            guard let segment = pool.allocate() else {
                head?.free()
                return nil
            }
            let n = min(remaining, segment.tailroom)
            _ = segment.append(n)
            remaining -= n
            if let head { head.chain(segment) } else { head = segment }
        }
        return head
    }
}
