import ArgumentParser
import Foundation
import Platform

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

    @Flag(help: "TCP echo: the server waits in an epoll set (edge-triggered, a kernel pipe beside the socket) and writes with writev, as an epoll server does through the C API or the LD_PRELOAD library.")
    var epoll = false
    @Flag(help: "TCP echo: the client lends its writes to the send ring (SocketCore.send(_:borrowing:), as DataplaneNIO does) instead of having them copied.")
    var lend = false
    @Flag(help: "TCP echo: both stacks keep received payloads in their packet buffers (TCPConfiguration.receiveLending, as DataplaneNIO's stacks do).")
    var receiveLending = false

    @Flag(help: "TCP: one way only, the client writes and the server reads and discards (the receive path alone, a bulk download); the server's segments received are reported.")
    var tcpOneWay = false

    @Option(help: "Scaling: run the echo (UDP, or TCP with --tcp-write) on 1 core and on N cores at once, alternating, and report the ratio.")
    var scalingCores: Int?

    @Option(help: "UDP echo: capture the client stack's packets (both directions) to a pcapng FILE while measuring (the cost of an active capture).")
    var capture: String?

    @Option(name: .customLong("telemetry-interval-ms"),
            help: "UDP echo: a telemetry thread asks the client stack for /cores every N ms while measuring (the cost of being watched; its snapshots allocate on the core).")
    var telemetryIntervalMilliseconds: Double?

    @Option(help: "Scaling: rounds of (1 core, N cores).")
    var rounds: Int = 3

    func run() throws {
        if let scalingCores {
            try runScaling(cores: scalingCores)
            return
        }
        if let tcpWrite {
            try Cores.adoptCurrentThread(asCore: 0)
            try runTCP(writeSize: tcpWrite)
            return
        }
        try Cores.adoptCurrentThread(asCore: 0)
        try runUDP()
    }
}

extension StackBench {
    /// The UDP mode (the default): echo between stacks, mallocs per round trip.
    func runUDP() throws {
        var echo = UDPStackEcho(payloadSize: size, burst: burst, warmupPackets: warmup, measuredPackets: packets)
        echo.capturePath = capture
        echo.telemetryIntervalMilliseconds = telemetryIntervalMilliseconds
        let result = try echo.run()
        print("dp-stack-bench: UDP echo over Loopback, \(size)-byte payloads, burst \(burst)")
        print("  echoed     \(result.echoed) of \(result.sent) sent in \(String(format: "%.3f", result.seconds)) s (\(String(format: "%.0f", Double(result.echoed) / result.seconds)) round trips/s)")
        print("  mallocs    \(result.mallocs) (\(String(format: "%.4f", result.mallocsPerRoundTrip)) per round trip), \(result.mallocBytes) bytes; frees \(result.frees)")
        print("  drops      \(result.dropped) \(result.drops.isEmpty ? "" : result.drops.description)")
        if telemetryIntervalMilliseconds != nil {
            print("  telemetry  \(result.telemetryAnswers) /cores answers from the core while measuring")
        }
        if let summary = result.capture {
            print("  capture    \(summary.packets) packets recorded, \(summary.dropped) dropped (ring full), \(summary.bytes) bytes written")
        }
        if let jsonPath {
            let document: [String: Any] = [
                "payloadBytes": size, "echoed": result.echoed, "sent": result.sent, "seconds": result.seconds,
                "mallocs": result.mallocs, "mallocBytes": result.mallocBytes,
                "mallocsPerPacket": result.mallocsPerRoundTrip, "dropped": result.dropped,
            ]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: jsonPath))
        }
        if requireZero && result.mallocs > 0 {
            throw ValidationError("\(result.mallocs) mallocs in the steady state: the UDP echo path allocates")
        }
        if result.echoed < packets {
            throw ValidationError("only \(result.echoed) of \(packets) datagrams came back (drops: \(result.clientCounters) \(result.serverCounters))")
        }
    }

    /// The TCP mode: echo through sockets, mallocs per segment.
    func runTCP(writeSize: Int) throws {
        guard writeSize > 0 && writeSize <= 65_536 else { throw ValidationError("--tcp-write takes 1...65536 bytes") }
        let bytes = Int(megabytes * 1_048_576)
        var echo = TCPSocketEcho(writeSize: writeSize, warmupBytes: bytes, measuredBytes: bytes)
        echo.usesEpoll = epoll
        echo.lendsWrites = lend
        echo.receiveLending = receiveLending
        echo.oneWay = tcpOneWay
        let result = try echo.run()
        print("dp-stack-bench: TCP \(tcpOneWay ? "one way" : "echo") through sockets over Loopback, \(writeSize)-byte writes\(epoll ? ", the server in an epoll set with writev" : "")\(lend ? ", the client's writes lent" : "")\(receiveLending ? ", received payloads kept in their packet buffers" : "")")
        print("  copied     \(result.receiveBytesCopied) bytes into receive rings, \(result.sendBytesCopied) into send rings; ring chunk memory from the system grew \(result.chunkAllocations) bytes (\(result.warmupChunkAllocations) in the warm-up)")
        print("  echoed     \(result.bytesEchoed) bytes \(tcpOneWay ? "one way" : "each way") in \(String(format: "%.3f", result.seconds)) s, \(result.segments) segments, \(result.coalesced) coalesced on receive (GRO)")
        if tcpOneWay {
            print("  server     \(result.serverReceived) segments received (\(result.bytesEchoed / max(result.serverReceived, 1)) bytes each on average), \(result.serverReceivedTotal) with the warm-up and handshake")
        }
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
