import Foundation
import NetDevice
import Packets
import Ports
import Stack
import Steering
import Testing
import Wire

/// `SteeredHost` with IPv6: `cores` stacks on one software-steered port
/// (fd41::1) and a one-stack peer (fd41::2) over a LoopbackPair.
final class SteeredHost6 {
    static let hostAddress = IPv6Address("fd41::1")!
    static let peerAddress = IPv6Address("fd41::2")!
    let ports: StartedPorts
    let cores: [NetStack]
    let peer: NetStack

    init(cores count: Int) throws {
        ports = try PortBringUp.startLoopbackPair(
            ringSize: 1024, pool: PoolRequest(name: "steering-v6-test", capacity: 8192, cacheSize: 0), cores: count)
        func configuration(_ v4: String, _ v6: IPv6Address) -> InterfaceConfiguration {
            InterfaceConfiguration(address: IPv4Network(v4)!, announceOnStart: false, ipv6: IPv6Configuration(
                addresses: [IPv6Network(address: v6, prefixLength: 64)!], retransmitMilliseconds: 50))
        }
        var stacks: [NetStack] = []
        for queue in 0..<count {
            let stack = NetStack(pool: ports.pool)
            try ports.attach(0, core: queue, to: stack, configuration("10.141.0.1/24", Self.hostAddress))
            stack.start()
            stacks.append(stack)
        }
        cores = stacks
        peer = NetStack(pool: ports.pool)
        try ports.attach(1, to: peer, configuration("10.141.0.2/24", Self.peerAddress))
        peer.start()
    }

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

    /// Until duplicate address detection has passed everywhere.
    func ready() -> Bool {
        pump { (cores + [peer]).allSatisfy { $0.ipv6Addresses(interface: 0).count == 2 } }
    }

    var wrongCore: [UInt64] { cores.map { $0.counters[.flowOnWrongCore] } }
}

/// IPv6 flows under software RSS: hashed by the TCPv6/UDPv6 4-tuple
/// (`FlowKey`), spread over the cores, each on the core that owns it;
/// outgoing connections pick ports whose replies hash home; NDP answers
/// reach every core.
@Suite("software RSS over IPv6: flows stay on their core")
struct SteeredCoresIPv6Tests {
    @Test("incoming TCP over IPv6 spreads over 2 cores, each connection echoed on the core that accepted it")
    func incomingConnections() throws {
        let cores = 2
        let host = try SteeredHost6(cores: cores)
        #expect(host.ready())
        let listeners = try host.cores.map {
            try $0.tcpListen(address: SteeredHost6.hostAddress, port: 7000, backlog: 256, options: TCPStreamOptions(), v6Only: true)
        }
        let connections = 48
        var clients: [TCPStreamHandle] = []
        for _ in 0..<connections {
            clients.append(try host.peer.tcpConnect(from: SteeredHost6.peerAddress, port: nil, to: SteeredHost6.hostAddress,
                                                    port: 7000, options: TCPStreamOptions()).0)
        }
        var accepted: [[TCPStreamHandle]] = Array(repeating: [], count: cores)
        #expect(host.pump {
            for (index, core) in host.cores.enumerated() {
                while let (stream, _) = core.tcpAccept(listeners[index]) { accepted[index].append(stream) }
            }
            return accepted.map(\.count).reduce(0, +) == connections
        }, "accepted \(accepted.map(\.count)) of \(connections)")
        #expect(accepted.allSatisfy { $0.count * 4 >= connections / cores }, "each core takes a share: \(accepted.map(\.count))")
        for (number, client) in clients.enumerated() {
            _ = Array("v6 client \(number)".utf8).withUnsafeBytes { host.peer.tcpSend(client, $0) }
        }
        var echoed = [Int: [UInt8]]()
        var buffer = [UInt8](repeating: 0, count: 256)
        #expect(host.pump {
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
            return clients.indices.allSatisfy { echoed[$0] == Array("v6 client \($0)".utf8) }
        }, "\(echoed.count) of \(connections) echoed")
        #expect(host.wrongCore == [0, 0], "no IPv6 segment reached a core that does not own its flow")
        #expect(host.cores.allSatisfy { $0.counters[.tcpReceived] > 0 })
    }

    @Test("outgoing IPv6 connections pick ports whose replies hash back to the opening core (NDP answers reach both)")
    func outgoingConnections() throws {
        let cores = 2
        let host = try SteeredHost6(cores: cores)
        #expect(host.ready())
        let listener = try host.peer.tcpListen(address: SteeredHost6.peerAddress, port: 8000, backlog: 512,
                                               options: TCPStreamOptions(), v6Only: true)
        var opened: [[TCPStreamHandle]] = Array(repeating: [], count: cores)
        for (index, core) in host.cores.enumerated() {
            for _ in 0..<16 {
                let (stream, status) = try core.tcpConnect(from: SteeredHost6.hostAddress, port: nil, to: SteeredHost6.peerAddress,
                                                           port: 8000, options: TCPStreamOptions())
                #expect(status.local.address == SteeredHost6.hostAddress)
                #expect(core.flowSteering!.ownsReplies(local: status.local.address, localPort: status.local.port,
                                                       remote: status.remote.address, remotePort: status.remote.port))
                opened[index].append(stream)
            }
        }
        var acceptedByPeer = 0
        #expect(host.pump {
            while host.peer.tcpAccept(listener) != nil { acceptedByPeer += 1 }
            return zip(host.cores, opened).allSatisfy { core, streams in streams.allSatisfy { core.tcpStatus($0)?.state.phase == .open } }
        }, "every connection established on the core that opened it")
        #expect(host.wrongCore == [0, 0])
        #expect(host.cores.allSatisfy { $0.neighbour(SteeredHost6.peerAddress) != nil }, "each core resolved the peer itself")
    }

    @Test("UDP over IPv6 from many source ports is spread over 2 cores")
    func udpSpread() throws {
        let cores = 2
        let host = try SteeredHost6(cores: cores)
        #expect(host.ready())
        let endpoints = try host.cores.map { try $0.udpBind(port: 9000) }
        let senders = try (0..<64).map { try host.peer.udpBind(port: UInt16(20000 + $0)) }
        let payload = Array("v6 datagram".utf8)
        for sender in senders {
            try payload.withUnsafeBytes { try host.peer.udpSend(sender, bytes: $0, to: (SteeredHost6.hostAddress, 9000)) }
        }
        var received = Array(repeating: 0, count: cores)
        #expect(host.pump {
            for (index, core) in host.cores.enumerated() {
                while let datagram = try? core.udpReceive(endpoints[index]) {
                    received[index] += 1
                    datagram.payload.free()
                }
            }
            return received.reduce(0, +) == senders.count
        }, "received \(received)")
        #expect(received.allSatisfy { $0 >= senders.count / cores / 2 }, "spread: \(received)")
        #expect(host.wrongCore == [0, 0])
    }
}
