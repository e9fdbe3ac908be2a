import DataplaneRuntime
import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// Each core's own slots (written only by that core's thread, read after run).
final class PerCoreProbe: @unchecked Sendable {
    let cores: Int
    let turns: UnsafeMutablePointer<Int>
    let received: UnsafeMutablePointer<Int>
    let sent: UnsafeMutablePointer<Int>
    var receivers: [Socket?]
    var senders: [[Socket]]
    var failures: [String?]

    init(cores: Int) {
        self.cores = cores
        turns = .allocate(capacity: cores)
        received = .allocate(capacity: cores)
        sent = .allocate(capacity: cores)
        for p in [turns, received, sent] { p.initialize(repeating: 0, count: cores) }
        receivers = Array(repeating: nil, count: cores)
        senders = Array(repeating: [], count: cores)
        failures = Array(repeating: nil, count: cores)
    }

    deinit { for p in [turns, received, sent] { p.deallocate() } }
}

@Suite("Swift runtime on N cores")
struct MultiCoreRuntimeTests {
    static let flowsPerCore = 16

    @Test("DataplaneCores --loopback --cores 2: every core runs its turn on its own thread with its own sockets; datagrams from 32 source ports are spread over both cores and all arrive")
    func twoCoresOverLoopback() throws {
        let dataplane = try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.0.1/24", "--cores", "2", "--idle-sleep-us", "0"])
        #expect(dataplane.coreCount == 2)
        let probe = PerCoreProbe(cores: 2)
        let expected = 2 * Self.flowsPerCore
        let target = IPv4SocketAddress(IPv4Address(10, 6, 0, 1), 6000)
        try dataplane.run { core, sockets in
            probe.turns[core] += 1
            do throws(SocketError) {
                if probe.receivers[core] == nil {
                    let receiver = try Socket(.datagram, on: sockets, nonBlocking: true)
                    try receiver.setOption(level: SOL_SOCKET, name: SO_REUSEPORT, 1)
                    try receiver.bind(target)
                    probe.receivers[core] = receiver
                    for _ in 0..<Self.flowsPerCore { probe.senders[core].append(try Socket(.datagram, on: sockets, nonBlocking: true)) }
                }
                // A first datagram resolves the address (the ARP queue holds
                // a few per destination); the flows go once it is answered.
                if probe.turns[core] == 1 { _ = try? probe.senders[core][0].send(Array("warm-up".utf8), to: target) }
                if probe.turns[core] == 50_000 {
                    for sender in probe.senders[core] { _ = try sender.send(Array("data from core \(core)".utf8), to: target) }
                    probe.sent[core] = Self.flowsPerCore
                }
                let receiver = probe.receivers[core]!
                while let result = try? receiver.receive(maximum: 32), !result.bytes.isEmpty {
                    if result.bytes.starts(with: Array("data".utf8)) { probe.received[core] += 1 }
                }
            } catch {
                probe.failures[core] = "\(error)"
                return false
            }
            return totalReceived(probe) < expected && probe.turns[core] < 2_000_000
        }
        #expect(probe.failures == [nil, nil])
        #expect(probe.turns[0] > 0 && probe.turns[1] > 0, "both cores ran")
        #expect(totalReceived(probe) >= expected, "received \(probe.received[0]) + \(probe.received[1]) of \(expected)")
        #expect(probe.received[0] > 0 && probe.received[1] > 0, "spread over both cores: \(probe.received[0]) / \(probe.received[1])")
    }

    func totalReceived(_ probe: PerCoreProbe) -> Int { (0..<probe.cores).map { probe.received[$0] }.reduce(0, +) }

    @Test("bad arguments are refused with dp_init's errno and a message")
    func refusals() {
        #expect { try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.0.1/24", "--cores", "0"]) } throws: { error in
            (error as? DataplaneCores.Failure)?.errno == EINVAL
        }
        #expect { try DataplaneCores(arguments: ["--ip", "10.6.0.1/24"]) } throws: { error in
            (error as? DataplaneCores.Failure)?.description.contains("exactly one port") == true
        }
    }
}
