import Atomics
import Capture
import Foundation
import NetDevice
import Packets
import Ports
import Stack
import Telemetry
import Testing
import Wire

/// Two stacks over a loopback pair, polled by a thread of their own (the
/// "core") while the test asks telemetry from its own thread, as dp-stat does.
final class PolledPair: @unchecked Sendable {
    static let a = IPv4Address(10, 0, 0, 1)
    static let b = IPv4Address(10, 0, 0, 2)
    let ports: StartedPorts
    let stackA: NetStack
    let stackB: NetStack
    let telemetry: DataplaneTelemetry
    let running = ManagedAtomic<Bool>(false)
    let done = ManagedAtomic<Bool>(false)

    init() throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 512, pool: PoolRequest(name: "telemetry-test", capacity: 2048, cacheSize: 0, policy: .anonymous))
        stackA = NetStack(pool: ports.pool)
        stackB = NetStack(pool: ports.pool)
        try ports.attach(0, to: stackA, InterfaceConfiguration(address: IPv4Network(address: Self.a, prefixLength: 24)!,
                                                               gateway: IPv4Address(10, 0, 0, 254), announceOnStart: false))
        try ports.attach(1, to: stackB, InterfaceConfiguration(address: IPv4Network(address: Self.b, prefixLength: 24)!, announceOnStart: false))
        stackA.start()
        stackB.start()
        // Stack A is "the process": its port is port 0.
        telemetry = DataplaneTelemetry(unlistenedPorts: [.init(label: "loopback 0", device: ports[0].device)], pools: [ports.pool])
        telemetry.coreTimeout = 2
        telemetry.setCore(0, stackA)
    }

    func pump(_ rounds: Int) {
        for _ in 0..<rounds {
            stackA.poll()
            stackB.poll()
        }
    }

    /// Polls both stacks on another thread (at most 20 s) while `body` runs.
    func whilePolled<T>(_ body: () throws -> T) rethrows -> T {
        done.store(false, ordering: .relaxed)
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(20)
            while !done.load(ordering: .acquiring) && Date() < deadline { pump(1) }
            running.store(false, ordering: .releasing)
        }
        running.store(true, ordering: .releasing)
        thread.start()
        defer {
            done.store(true, ordering: .releasing)
            while running.load(ordering: .acquiring) { usleep(100) }
        }
        return try body()
    }

    func ask(_ line: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(telemetry.router.reply(to: line).serialized.utf8), options: [.fragmentsAllowed])
    }
}

@Suite("telemetry over running stacks", .serialized)
struct TelemetryStackTests {
    @Test("counters, ports, pools, routes, ARP and TCP connections as a peer sees them")
    func snapshots() throws {
        let pair = try PolledPair()
        // Traffic before the core thread starts: UDP both ways and one TCP connection.
        let server = try pair.stackB.udpBind(port: 7)
        let client = try pair.stackA.udpBind(port: 0)
        for _ in 0..<5 {
            try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try pair.stackA.udpSend(client, bytes: $0, to: (PolledPair.b, 7)) }
        }
        pair.pump(20)
        while let datagram = try? pair.stackB.udpReceive(server) { datagram.payload.free() }
        let listener = try pair.stackB.tcpListen(address: .any, port: 5001, backlog: 4, options: TCPStreamOptions())
        let (stream, _) = try pair.stackA.tcpConnect(from: PolledPair.a, port: nil, to: PolledPair.b, port: 5001, options: TCPStreamOptions())
        pair.pump(20)
        _ = pair.stackB.tcpAccept(listener)
        let bytes = [UInt8](repeating: 7, count: 3000)
        _ = bytes.withUnsafeBytes { pair.stackA.tcpSend(stream, $0) }
        pair.pump(20)

        try pair.whilePolled {
            let cores = try pair.ask("/cores") as! [[String: Any]]
            let counters = cores[0]["counters"] as! [String: Int]
            #expect(counters["frames.transmitted"]! >= 5)
            #expect((cores[0]["tcp"] as! [String: Int])["connections"] == 1)

            let connections = (try pair.ask("/tcp/connections") as! [[String: Any]])[0]["connections"] as! [[String: Any]]
            #expect(connections.count == 1)
            #expect(connections[0]["state"] as? String == "ESTABLISHED")
            #expect(connections[0]["remote"] as? String == "10.0.0.2:5001")
            #expect((connections[0]["cwnd"] as? Int ?? 0) > 0)
            // What the initial window let out of the 3000 written; the rest waits in the send queue.
            let sent = connections[0]["bytesSent"] as? Int ?? 0
            #expect(sent > 0 && sent <= 3000)

            let stats = try pair.ask("/ports/0/stats") as! [String: Any]
            #expect(((stats["basic"] as! [String: Int])["transmittedPackets"] ?? 0) >= 5)
            #expect((try pair.ask("/ports/3/stats") as! [String: Any])["error"] as? String == "no port 3: ports are 0...0")

            let pools = try pair.ask("/pools") as! [[String: Any]]
            #expect(pools[0]["capacity"] as? Int == 2048)
            let routes = try pair.ask("/routes") as! [String: Any]
            let destinations = (routes["routes"] as! [[String: Any]]).map { $0["destination"] as! String }
            #expect(destinations == ["10.0.0.0/24", "0.0.0.0/0"])
            let arp = (try pair.ask("/arp") as! [[String: Any]])[0]["neighbours"] as! [[String: Any]]
            #expect(arp.contains { $0["address"] as? String == "10.0.0.2" && $0["state"] as? String == "REACHABLE" })
        }
    }

    @Test("routes and static neighbours changed at run time through /routes/change")
    func routeChanges() throws {
        let pair = try PolledPair()
        try pair.whilePolled {
            func destinations() throws -> [String] {
                ((try pair.ask("/routes") as! [String: Any])["routes"] as! [[String: Any]]).map { $0["destination"] as! String }
            }
            let added = try pair.ask("/routes/change change=route add 10.9.0.0/16 via 10.0.0.2") as! [String: Any]
            #expect(added["change"] as? String == "route add 10.9.0.0/16 via 10.0.0.2")
            #expect((added["cores"] as! [[String: Any]]).map { $0["applied"] as? Bool } == [true])
            #expect(try destinations() == ["10.0.0.0/24", "10.9.0.0/16", "0.0.0.0/0"])
            let duplicate = try pair.ask("/routes/change change=route add 10.9.0.0/16 via 10.0.0.2") as! [String: Any]
            #expect((duplicate["error"] as? String)?.contains("route add 10.9.0.0/16") == true)
            _ = try pair.ask("/routes/change change=arp add 10.0.0.7 02:00:00:00:00:07")
            let arp = (try pair.ask("/arp") as! [[String: Any]])[0]["neighbours"] as! [[String: Any]]
            #expect(arp.contains { $0["address"] as? String == "10.0.0.7" && $0["state"] as? String == "PERMANENT" })
            _ = try pair.ask("/routes/change change=route del 10.9.0.0/16")
            #expect(try destinations() == ["10.0.0.0/24", "0.0.0.0/0"])
            #expect((try pair.ask("/routes/change change=route sideways") as! [String: Any])["error"] != nil)
            #expect((try pair.ask("/routes/change") as! [String: Any])["error"] != nil)
        }
    }

    @Test("a core that does not poll costs a timeout and an error reply, not a hang")
    func silentCore() throws {
        let pair = try PolledPair()
        pair.telemetry.coreTimeout = 0.05
        let cores = try pair.ask("/cores") as! [[String: Any]]
        #expect((cores[0]["error"] as? String)?.contains("did not answer") == true)
        pair.pump(1)   // runs the late job: harmless
    }

    @Test("a capture started over telemetry, with count, ends itself and the file reads back")
    func captureOverTelemetry() throws {
        let pair = try PolledPair()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("telemetry-\(UUID().uuidString).pcapng").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let client = try pair.stackA.udpBind(port: 0)
        try pair.whilePolled {
            let started = try pair.ask("/capture/start port=0 count=3 snaplen=64 file=\(path) filter=udp") as! [String: Any]
            #expect(started["started"] as? Bool == true, "\(started)")
            let again = try pair.ask("/capture/start port=0 file=\(path)") as! [String: Any]
            #expect((again["error"] as? String)?.contains("a capture is running") == true)
            for _ in 0..<6 {
                // The stack is the core's: the send goes through its mailbox too.
                _ = pair.stackA.mailbox.ask(timeout: 2) { stack in
                    try? [UInt8](repeating: 2, count: 200).withUnsafeBytes { try stack.udpSend(client, bytes: $0, to: (PolledPair.b, 9)) }
                }
            }
            let deadline = Date().addingTimeInterval(5)
            var status: [String: Any] = [:]
            repeat {
                status = try pair.ask("/capture/status") as! [String: Any]
                usleep(10_000)
            } while status["finished"] as? Bool != true && Date() < deadline
            #expect(status["packets"] as? Int == 3, "\(status)")
        }
        let file = try PcapngFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(file.packets.count == 3)
        #expect(file.packets.allSatisfy { $0.data.count == 64 && $0.flags == 2 })
    }

    @Test("the socket: a client asks /info; a second server with the same name is refused")
    func socket() throws {
        let pair = try PolledPair()
        let name = "telemetry-test-\(getpid())"
        let server = try TelemetryServer(name: name, router: pair.telemetry.router)
        defer { server.stop() }
        #expect(TelemetryDirectory.names().contains(name))
        let client = try TelemetryClient(name: name)
        let info = try JSONSerialization.jsonObject(with: Data(try client.request("/info").utf8)) as! [String: Any]
        #expect(info["pid"] as? Int == Int(getpid()))
        #expect(try client.request("/nothing").contains("unknown command"))
        #expect(throws: TelemetryFailure.self) { try TelemetryServer(name: name, router: pair.telemetry.router) }
        #expect(throws: TelemetryFailure.self) { try TelemetryServer(name: "../etc", router: pair.telemetry.router) }
        client.close()
    }
}

@Suite("telemetry socket robustness", .serialized)
struct TelemetrySocketRobustnessTests {
    @Test("garbage, an overlong line and a vanished client leave the server serving")
    func garbage() throws {
        let router = TelemetryRouter()
        router.add("/ping", help: "pong") { _ throws(TelemetryFailure) in ["pong": true] }
        let name = "telemetry-robust-\(getpid())"
        let server = try TelemetryServer(name: name, router: router)
        defer { server.stop() }
        let rude = try TelemetryClient(name: name)
        #expect(try rude.request("\u{0}\u{1}garbage").contains("commands start with '/'"))
        #expect(try rude.request("/ping " + String(repeating: "x=1 ", count: 100)).contains("pong"))
        // A line past 64 KiB: an error, then the server hangs up on that client.
        #expect((try? rude.request("/" + String(repeating: "a", count: 70_000)))?.contains("longer than 64 KiB") ?? true)
        rude.close()
        let polite = try TelemetryClient(name: name)
        #expect(try polite.request("/ping") == #"{"pong":true}"#)
        #expect(try polite.request("/ping filter=") == #"{"pong":true}"#)
    }
}
