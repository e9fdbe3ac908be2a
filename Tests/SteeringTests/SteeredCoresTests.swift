import Foundation
import NetDevice
import Packets
import Ports
import Stack
import Steering
import Testing
import Wire

/// A host with `cores` stacks on one software-steered port (10.0.0.1) and a
/// peer with one stack (10.0.0.2), over a LoopbackPair. All in one thread:
/// `pump` turns every core's poll loop in turn, as N threads would.
final class SteeredHost {
    static let hostAddress = IPv4Address(10, 0, 0, 1)
    static let peerAddress = IPv4Address(10, 0, 0, 2)
    let ports: StartedPorts
    /// The software RSS over the host's port (nil on one core: nothing to steer).
    let steering: SoftwareSteering?
    let cores: [NetStack]
    let peer: NetStack

    init(cores count: Int) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "steering-test", capacity: 8192, cacheSize: 0), cores: count)
        if case .software(let steering) = ports.spreads[0] { self.steering = steering } else { steering = nil }
        var stacks: [NetStack] = []
        for queue in 0..<count {
            let stack = NetStack(pool: ports.pool)
            try ports.attach(0, core: queue, to: stack, InterfaceConfiguration(
                address: IPv4Network(address: Self.hostAddress, prefixLength: 24)!, announceOnStart: false))
            stack.start()
            stacks.append(stack)
        }
        cores = stacks
        peer = NetStack(pool: ports.pool)
        try ports.attach(1, to: peer, InterfaceConfiguration(
            address: IPv4Network(address: Self.peerAddress, prefixLength: 24)!, announceOnStart: false))
        peer.start()
    }

    /// Turns every loop until `done` (false after `seconds`).
    @discardableResult
    func pump(seconds: Double = 10, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for core in cores { core.poll() }
            peer.poll()
            if done() { return true }
        }
        return done()
    }

    var wrongCore: [UInt64] { cores.map { $0.counters[.flowOnWrongCore] } }
}

@Suite("software RSS: flows stay on their core")
struct SteeredCoresTests {
    @Test("incoming TCP connections spread over the cores, each echoed byte-exact on the core that accepted it",
          arguments: [1, 2, 4])
    func incomingConnections(cores: Int) throws {
        let host = try SteeredHost(cores: cores)
        let listeners = try host.cores.map { try $0.tcpListen(address: .any, port: 7000, backlog: 256, options: TCPStreamOptions()) }
        let connections = 64
        var clients: [TCPStreamHandle] = []
        for _ in 0..<connections {
            clients.append(try host.peer.tcpConnect(from: SteeredHost.peerAddress, port: nil, to: SteeredHost.hostAddress,
                                                    port: 7000, options: TCPStreamOptions()).0)
        }
        var accepted: [[TCPStreamHandle]] = Array(repeating: [], count: cores)
        let allAccepted = host.pump {
            for (index, core) in host.cores.enumerated() {
                while let (stream, _) = core.tcpAccept(listeners[index]) { accepted[index].append(stream) }
            }
            return accepted.map(\.count).reduce(0, +) == connections
        }
        #expect(allAccepted, "accepted \(accepted.map(\.count)) of \(connections)")
        if cores > 1 {
            for share in accepted.map(\.count) {
                #expect(share * 10 >= connections / cores * 5, "each core takes a fair share: \(accepted.map(\.count))")
            }
        }
        // Each client sends its number; each core echoes what it reads.
        for (number, client) in clients.enumerated() {
            let message = Array("client \(number) says hello".utf8)
            _ = message.withUnsafeBytes { host.peer.tcpSend(client, $0) }
        }
        var echoed = [Int: [UInt8]]()
        var buffer = [UInt8](repeating: 0, count: 256)
        let allEchoed = host.pump {
            for (index, core) in host.cores.enumerated() {
                for stream in accepted[index] {
                    if let (count, _) = buffer.withUnsafeMutableBytes({ core.tcpReceive(stream, into: $0) }), count > 0 {
                        _ = buffer.withUnsafeBytes { core.tcpSend(stream, UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    }
                }
            }
            for (number, client) in clients.enumerated() {
                if let (count, _) = buffer.withUnsafeMutableBytes({ host.peer.tcpReceive(client, into: $0) }), count > 0 {
                    echoed[number, default: []] += buffer[0..<count]
                }
            }
            return clients.indices.allSatisfy { echoed[$0] == Array("client \($0) says hello".utf8) }
        }
        #expect(allEchoed, "\(echoed.count) of \(connections) echoed")
        #expect(host.wrongCore == Array(repeating: 0, count: cores), "no segment reached a core that does not own its flow")
    }

    @Test("outgoing connections pick ports whose replies hash back to the opening core", arguments: [2, 4])
    func outgoingConnections(cores: Int) throws {
        let host = try SteeredHost(cores: cores)
        let listener = try host.peer.tcpListen(address: .any, port: 8000, backlog: 512, options: TCPStreamOptions())
        var opened: [[TCPStreamHandle]] = Array(repeating: [], count: cores)
        for (index, core) in host.cores.enumerated() {
            for _ in 0..<20 {
                let (stream, status) = try core.tcpConnect(from: SteeredHost.hostAddress, port: nil, to: SteeredHost.peerAddress,
                                                           port: 8000, options: TCPStreamOptions())
                #expect(core.flowSteering!.ownsReplies(local: status.localAddress, localPort: status.localPort,
                                                       remote: status.remoteAddress, remotePort: status.remotePort))
                opened[index].append(stream)
            }
        }
        var acceptedByPeer = 0
        let established = host.pump {
            while host.peer.tcpAccept(listener) != nil { acceptedByPeer += 1 }
            return zip(host.cores, opened).allSatisfy { core, streams in
                streams.allSatisfy { core.tcpStatus($0)?.state.phase == .open }
            }
        }
        #expect(established, "every connection established on the core that opened it")
        #expect(host.wrongCore == Array(repeating: 0, count: cores))
        #expect(host.pump { while host.peer.tcpAccept(listener) != nil { acceptedByPeer += 1 }; return acceptedByPeer == cores * 20 })
    }

    @Test("UDP from many source ports is spread over the cores; ARP replies reach every core")
    func udpSpread() throws {
        let cores = 2
        let host = try SteeredHost(cores: cores)
        let endpoints = try host.cores.map { try $0.udpBind(port: 9000) }
        let senders = try (0..<64).map { try host.peer.udpBind(port: UInt16(20000 + $0)) }
        let payload: [UInt8] = Array("datagram".utf8)
        // Each core resolves the peer itself (its own ARP request; the reply is copied to every queue).
        for sender in senders {
            try payload.withUnsafeBytes { try host.peer.udpSend(sender, bytes: $0, to: (SteeredHost.hostAddress, 9000)) }
        }
        var received = Array(repeating: 0, count: cores)
        let all = host.pump {
            for (index, core) in host.cores.enumerated() {
                while let datagram = try? core.udpReceive(endpoints[index]) {
                    received[index] += 1
                    datagram.payload.free()
                }
            }
            return received.reduce(0, +) == senders.count
        }
        #expect(all, "received \(received)")
        #expect(received.allSatisfy { $0 >= senders.count / cores / 2 }, "spread: \(received)")
        #expect(host.wrongCore == [0, 0])
        let statistics = try (0..<cores).map { try #require(host.steering).queue($0).statistics() }
        #expect(statistics.allSatisfy { $0.receiveNoBuffer == 0 })
    }
}
