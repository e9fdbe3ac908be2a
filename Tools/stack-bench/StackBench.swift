import ArgumentParser
import Foundation
import Ports
import MallocInterposerSwift
import NetDevice
import Packets
import Platform
import Stack
import Wire

/// UDP echo between two stacks over a LoopbackPair, counting mallocs in
/// the steady state (after a warm-up) with ordo-one's malloc interposer:
/// the proof that the fast path allocates nothing per packet.
@main
struct StackBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-stack-bench",
        abstract: "UDP echo over Loopback between two stacks; reports mallocs per packet and packets per second.")

    @Option(help: "Datagrams echoed while measuring.")
    var packets: Int = 200_000

    @Option(help: "Datagrams echoed before measuring (fills caches, tables, queues).")
    var warmup: Int = 20_000

    @Option(help: "UDP payload bytes per datagram (above 1472 they are fragmented and reassembled).")
    var size: Int = 64

    @Option(help: "Datagrams in flight per round.")
    var burst: Int = 32

    @Flag(help: "Exit non-zero when any malloc is counted per packet (for CI).")
    var requireZero = false

    @Option(name: .customLong("json"), help: "Write the results to FILE as JSON.")
    var jsonPath: String?

    @Option(help: "TCP echo through sockets instead of UDP: bytes per send() (64 or 65536, say).")
    var tcpWrite: Int?

    @Option(help: "TCP echo: megabytes echoed while measuring (after as many again of warm-up).")
    var megabytes: Double = 8

    func run() throws {
        if let tcpWrite {
            try Cores.adoptCurrentThread(asCore: 0)
            try runTCP(writeSize: tcpWrite)
            return
        }
        try Cores.adoptCurrentThread(asCore: 0)
        // Host ports: hugepages when there are some, else anonymous memory.
        let ports = try PortBringUp.startLoopbackPair(ringSize: 1024, pool: PoolRequest(name: "stack-bench", capacity: 8192))
        let pool = ports.pool
        let client = NetStack(pool: pool)
        let server = NetStack(pool: pool)
        try ports.attach(0, to: client, InterfaceConfiguration(address: IPv4Network("10.0.0.1/24")!, announceOnStart: false))
        try ports.attach(1, to: server, InterfaceConfiguration(address: IPv4Network("10.0.0.2/24")!, announceOnStart: false))
        client.start()
        server.start()
        let serverEndpoint = try server.udpBind(port: 7)
        let clientEndpoint = try client.udpBind(port: 40000)
        let destination = (address: IPv4Address(10, 0, 0, 2), port: UInt16(7))

        /// A payload of `size` bytes, chained when it does not fit one buffer.
        func makePayload() -> PacketBuffer? {
            var head: PacketBuffer?
            var remaining = max(size, 8)
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

        var echoed = 0
        var sent = 0
        var rounds = 0
        /// One round: the client sends up to `burst` datagrams, the server
        /// echoes what it got, the client takes the answers.
        func round(limit: Int) throws {
            var inRound = 0
            while inRound < burst && sent < limit {
                guard let payload = makePayload() else { break }
                payload.data.storeBytes(of: UInt64(sent), as: UInt64.self)
                try client.udpSend(clientEndpoint, payload, to: destination)
                sent += 1
                inRound += 1
            }
            // Poll until both sides are idle (a fragmented burst takes
            // several receive bursts).
            var idleIterations = 0
            while idleIterations < 2 {
                var busy = client.poll() > 0
                busy = server.poll() > 0 || busy
                while let request = try server.udpReceive(serverEndpoint) {
                    try server.udpSend(serverEndpoint, request.payload, to: (request.source, request.sourcePort))
                    busy = true
                }
                while let reply = try client.udpReceive(clientEndpoint) {
                    reply.payload.free()
                    echoed += 1
                }
                idleIterations = busy ? 0 : idleIterations + 1
            }
            rounds += 1
        }

        // Lost datagrams (counted drops) must not make these loops endless.
        while echoed < warmup && sent < warmup && rounds < warmup * 4 { try round(limit: warmup) }
        echoed = 0
        sent = 0
        MallocInterposerSwift.initialize()
        let start = TSCClock.monotonicNanoseconds()
        MallocInterposerSwift.hook()
        rounds = 0
        while sent < packets && rounds < packets * 4 { try round(limit: packets) }
        MallocInterposerSwift.unhook()
        let elapsed = Double(TSCClock.monotonicNanoseconds() - start) / 1e9
        let statistics = MallocInterposerSwift.getStatistics()
        let perPacket = Double(statistics.mallocCount) / Double(max(echoed, 1))
        let dropped = client.counters.totalDropped + server.counters.totalDropped
        print("dp-stack-bench: UDP echo over Loopback, \(size)-byte payloads, burst \(burst)")
        print("  echoed     \(echoed) of \(sent) sent in \(String(format: "%.3f", elapsed)) s (\(String(format: "%.0f", Double(echoed) / elapsed)) round trips/s)")
        print("  mallocs    \(statistics.mallocCount) (\(String(format: "%.4f", perPacket)) per round trip), \(statistics.mallocBytesCount) bytes; frees \(statistics.freeCount)")
        let drops = (client.counters.named.merging(server.counters.named, uniquingKeysWith: +)).filter { $0.key.hasPrefix("drop.") }
        print("  drops      \(dropped) \(drops.isEmpty ? "" : drops.description)")
        if let jsonPath {
            let document: [String: Any] = [
                "payloadBytes": size, "echoed": echoed, "sent": sent, "seconds": elapsed,
                "mallocs": statistics.mallocCount, "mallocBytes": statistics.mallocBytesCount,
                "mallocsPerPacket": perPacket, "dropped": dropped,
            ]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: jsonPath))
        }
        if requireZero && statistics.mallocCount > 0 {
            throw ValidationError("\(statistics.mallocCount) mallocs in the steady state: the UDP echo path allocates")
        }
        if echoed < packets {
            throw ValidationError("only \(echoed) of \(packets) datagrams came back (drops: \(client.counters.named) \(server.counters.named))")
        }
    }
}

extension StackBench {
    /// The TCP mode: echo through sockets, mallocs per segment.
    func runTCP(writeSize: Int) throws {
        guard writeSize > 0 && writeSize <= 65_536 else { throw ValidationError("--tcp-write takes 1...65536 bytes") }
        let bytes = Int(megabytes * 1_048_576)
        let echo = TCPSocketEcho(writeSize: writeSize, warmupBytes: bytes, measuredBytes: bytes)
        let result = try echo.run()
        print("dp-stack-bench: TCP echo through sockets over Loopback, \(writeSize)-byte writes")
        print("  echoed     \(result.bytesEchoed) bytes each way in \(String(format: "%.3f", result.seconds)) s, \(result.segments) segments")
        print("  mallocs    \(result.mallocs) (\(String(format: "%.4f", result.mallocsPerSegment)) per segment), \(result.mallocBytes) bytes; frees \(result.frees)")
        if let jsonPath {
            let document: [String: Any] = [
                "protocol": "tcp", "writeBytes": writeSize, "bytesEchoed": result.bytesEchoed, "segments": result.segments,
                "seconds": result.seconds, "mallocs": result.mallocs, "mallocBytes": result.mallocBytes,
                "mallocsPerSegment": result.mallocsPerSegment,
            ]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: jsonPath))
        }
        if requireZero && result.mallocs > 0 {
            throw ValidationError("\(result.mallocs) mallocs in the steady state: TCP through sockets allocates")
        }
    }
}
