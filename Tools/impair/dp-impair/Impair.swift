import ArgumentParser
import CPacketSocket
import Foundation
import Impairment
import Platform

@main
struct Impair: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-impair",
        abstract: "Bridges two Linux interfaces and impairs the frames it copies: loss, duplication, reordering, delay.",
        discussion: """
            Every frame either interface receives is copied out of the other one (AF_PACKET, all protocols);
            frames the interfaces send are ignored, so the relay never sees its own output. Each direction
            draws its own random decisions from --seed, so a run replays. This kernel has no netem: put the
            relay in a network namespace between the two sides (e.g. a veth end and a tap) and give those
            interfaces no addresses there. Turn off the veth offloads first (ethtool -K DEV tx off tso off
            gso off gro off): frames longer than the MTU + 14 are counted as oversized and dropped.
            Example:
              ip netns exec R dp-impair --a tap0 --b r0 --loss 0.04 --reorder 0.22 --reorder-delay-ms 3 \\
                --duplicate 0.01 --seed 7 --seconds 120 --stats-json relay.json
            """)

    @Option(name: .customLong("a"), help: "One interface to bridge (in the current network namespace).")
    var a: String

    @Option(name: .customLong("b"), help: "The other interface to bridge.")
    var b: String

    @Option(help: "Probability (0...1) that a frame is dropped.")
    var loss: Double = 0

    @Option(help: "Probability (0...1) that a frame is sent twice.")
    var duplicate: Double = 0

    @Option(help: "Probability (0...1) that a frame is held back by --reorder-delay-ms while later frames pass.")
    var reorder: Double = 0

    @Option(name: .customLong("reorder-delay-ms"), help: "How long a reordered frame is held, in milliseconds.")
    var reorderDelayMilliseconds: Double = 0

    @Option(name: .customLong("delay-ms"), help: "Delay every frame by this many milliseconds.")
    var delayMilliseconds: Double = 0

    @Option(help: "Which directions to impair: both, a-to-b or b-to-a (the other one is copied clean).")
    var direction: ImpairedDirections = .both

    @Option(help: "Seed of the pseudo-random decisions (same seed, same decisions for the same frames).")
    var seed: UInt64 = 1

    @Option(help: "Stop after N seconds (default: until SIGINT/SIGTERM).")
    var seconds: Double?

    @Option(name: .customLong("stats-json"), help: "Write the counters of both directions to FILE at exit.")
    var statsJSON: String?

    @Option(name: .customLong("queue-capacity"), help: "Frames each direction can hold back at once (more are dropped and counted).")
    var queueCapacity: Int = 4096

    @Option(help: "Frames read from one side per turn before the other side is served.")
    var burst: Int = 64

    var settings: ImpairmentSettings {
        ImpairmentSettings(loss: loss, duplicate: duplicate, reorder: reorder,
                           reorderDelay: Self.nanoseconds(milliseconds: reorderDelayMilliseconds),
                           delay: Self.nanoseconds(milliseconds: delayMilliseconds))
    }

    static func nanoseconds(milliseconds: Double) -> UInt64 { UInt64((milliseconds * 1e6).rounded()) }

    func validate() throws {
        for (flag, name) in [("--a", a), ("--b", b)] {
            guard !name.isEmpty, name.utf8.count < 16 else {
                throw ValidationError("\(flag) '\(name)': an interface name is 1...15 bytes")
            }
            guard dp_packet_interface_index(name) != 0 else {
                throw ValidationError("\(flag) '\(name)': no such interface in this network namespace (see `ip link`)")
            }
        }
        guard a != b else { throw ValidationError("--a and --b are both '\(a)': bridge two different interfaces") }
        for (flag, value) in [("--reorder-delay-ms", reorderDelayMilliseconds), ("--delay-ms", delayMilliseconds)] {
            guard value >= 0, value <= 60_000 else {
                throw ValidationError("\(flag) \(value): must be in 0...60000 milliseconds")
            }
        }
        do {
            try settings.validate()
        } catch {
            throw ValidationError(error.description)
        }
        if let seconds, !(seconds > 0) { throw ValidationError("--seconds \(seconds): must be positive") }
        guard (1...1_000_000).contains(queueCapacity) else {
            throw ValidationError("--queue-capacity \(queueCapacity): must be in 1...1000000")
        }
        guard (1...4096).contains(burst) else { throw ValidationError("--burst \(burst): must be in 1...4096") }
    }

    func run() throws {
        let relay: Relay
        do {
            // A receive buffer deep enough to ride out a descheduled relay.
            let sideA = try PacketSocket(interface: a, receiveBuffer: 8 << 20)
            let sideB = try PacketSocket(interface: b, receiveBuffer: 8 << 20)
            // Different streams per direction from one seed.
            let aToB = DirectionRelay(settings: direction.impairsAToB ? settings : .none, seed: seed,
                                      maximumFrame: sideB.mtu + 14, queueCapacity: queueCapacity)
            let bToA = DirectionRelay(settings: direction.impairsBToA ? settings : .none, seed: seed ^ 0x5DEE_CE66_D1CE_B00C,
                                      maximumFrame: sideA.mtu + 14, queueCapacity: queueCapacity)
            relay = Relay(a: sideA, b: sideB, aToB: aToB, bToA: bToA, burst: burst)
        } catch {
            throw failure(error.description)
        }
        StopSignals.install()
        say("dp-impair: \(a) <-> \(b), \(describe(settings)) on \(direction.rawValue), seed \(seed)"
              + (seconds.map { " for \($0) s" } ?? ""))

        let started = TSCClock.monotonicNanoseconds()
        let deadline = seconds.map { started + UInt64($0 * 1e9) } ?? UInt64.max
        relay.run(until: deadline)
        let elapsed = Double(TSCClock.monotonicNanoseconds() - started) / 1e9

        for (label, statistics) in [("\(a)->\(b)", relay.aToB.statistics), ("\(b)->\(a)", relay.bToA.statistics)] {
            say("dp-impair: \(label): " + statistics.named.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        }
        if let statsJSON {
            func counters(_ statistics: DirectionStatistics) -> [String: UInt64] {
                Dictionary(uniqueKeysWithValues: statistics.named)
            }
            let document: [String: Any] = [
                "seconds": elapsed,
                "a": a, "b": b, "seed": seed, "direction": direction.rawValue,
                "settings": ["loss": loss, "duplicate": duplicate, "reorder": reorder,
                             "reorderDelayMs": reorderDelayMilliseconds, "delayMs": delayMilliseconds],
                "aToB": counters(relay.aToB.statistics),
                "bToA": counters(relay.bToA.statistics),
            ]
            do {
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: statsJSON))
            } catch {
                throw failure("cannot write --stats-json \(statsJSON): \(error)")
            }
        }
    }

    func describe(_ settings: ImpairmentSettings) -> String {
        if settings.isClean { return "no impairment" }
        return "loss \(loss), duplicate \(duplicate), reorder \(reorder) held \(reorderDelayMilliseconds) ms, delay \(delayMilliseconds) ms"
    }

    /// Unbuffered, so a caller reading our output sees it at once.
    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("dp-impair: \(message)\n".utf8))
        return ExitCode(2)
    }
}
