// Only the umbrella: what an application gets from `import Dataplane`.
import Dataplane
import Testing

/// Two cores on one thread over a loopback pair, built as README's plain
/// sockets example builds one on a tap: ports by name, a stack per core,
/// its socket table. While one core blocks it runs the other.
struct UmbrellaCores {
    let ports: StartedPorts
    let a: SocketCore
    let b: SocketCore

    init() throws {
        ports = try PortBringUp.startLoopbackPair(pool: PoolRequest(name: "umbrella", capacity: 2048, policy: .anonymous))
        var made: [SocketCore] = []
        for (index, address) in ["10.5.0.1/24", "10.5.0.2/24"].enumerated() {
            let stack = NetStack(pool: ports.pool, tcpConfiguration: TCPConfiguration())
            try ports.attach(index, to: stack, InterfaceConfiguration(address: IPv4Network(address)!))
            stack.start()
            made.append(try SocketCore(stack: stack))
        }
        (a, b) = (made[0], made[1])
        // Unowned: the cores hold these closures, and this struct holds the cores.
        a.whileBlocked = { [unowned b] in b.runOnce() }
        b.whileBlocked = { [unowned a] in a.runOnce() }
    }
}

@Suite("import Dataplane alone")
struct UmbrellaImportTests {
    @Test("README's blocking echo over the umbrella: bytes come back as sent, and the stack's counters and TCP statistics count them")
    func blockingEcho() throws {
        let cores = try UmbrellaCores()
        let listener = try Socket(.stream, on: cores.b)
        try listener.bind(port: 7)
        try listener.listen()
        let client = try Socket(.stream, on: cores.a)
        try client.connect(IPv4SocketAddress(IPv4Address(10, 5, 0, 2), 7))
        let (connection, peer) = try listener.accept()
        #expect(peer.address == IPv4Address(10, 5, 0, 1))
        let message = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try client.send(message)
        // The server echoes all of it (its send buffer holds it), then the client reads it back.
        var served = 0
        while served < message.count {
            let (bytes, _) = try connection.receive()
            try #require(!bytes.isEmpty, "the stream ended after \(served) bytes")
            try connection.send(bytes, flags: .noSignal)
            served += bytes.count
        }
        var echoed: [UInt8] = []
        while echoed.count < message.count {
            let (back, _) = try client.receive()
            try #require(!back.isEmpty, "the stream ended after \(echoed.count) bytes")
            echoed += back
        }
        #expect(echoed == message)
        #expect(cores.b.stack.counters[.tcpReceived] > 0)
        #expect(cores.b.stack.tcpStatistics.connectionsAccepted == 1)
        #expect(cores.a.stack.tcpStatistics.connectionsOpened == 1)
        try connection.close()
        try client.close()
    }

    @Test("the umbrella names every layer's type an application uses, and a socket call's errno")
    func names() throws {
        #expect(PortSpec("tap:dp0") == .tap("dp0", mac: nil))
        #expect(PortSpec("nonsense") == nil)
        #expect(MACAddress("02:00:00:00:00:01") != nil)
        let cores = try UmbrellaCores()
        let socket = try Socket(.datagram, on: cores.a)
        do {
            _ = try socket.send([1], to: nil)
            Issue.record("a datagram without a destination was sent")
        } catch {
            let errno: Errno = error.errno
            #expect(errno == .addressRequired)
        }
        #expect(throws: DataplaneCores.Failure.self) { try DataplaneCores(arguments: ["--tap", "dp0"]) }
        #expect(TCPConfiguration().ephemeralPorts.count > 0)
        #expect(SocketCoreConfiguration().maximumSockets > 0)
    }
}
