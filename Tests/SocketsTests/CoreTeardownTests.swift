import Glibc
import NetDevice
import Packets
import Ports
import Sockets
import Stack
import Testing
import Wire

/// A socket core that goes away with sockets still open closes them as a
/// process exit does: the peers get their FIN at once (before, the FINs
/// were queued in the TCP table and never sent).
@Suite struct CoreTeardownTests {
    @Test func releasedCoreSendsFINForSocketsLeftOpen() throws {
        let ports = try PortBringUp.startLoopbackPair(
            ringSize: 256, pool: PoolRequest(name: "teardown-test", capacity: 1024, cacheSize: 0, policy: .anonymous))
        let stackA = NetStack(pool: ports.pool)
        let stackB = NetStack(pool: ports.pool)
        try ports.attach(0, to: stackA, InterfaceConfiguration(
            address: IPv4Network(address: TwoCores.addressA, prefixLength: 24)!, announceOnStart: false))
        try ports.attach(1, to: stackB, InterfaceConfiguration(
            address: IPv4Network(address: TwoCores.addressB, prefixLength: 24)!, announceOnStart: false))
        stackA.start()
        stackB.start()
        let group = SocketGroup()
        var coreA: SocketCore? = try SocketCore(stack: stackA, group: group, configuration: TwoCores.testConfiguration)
        let coreB = try SocketCore(stack: stackB, group: group, configuration: TwoCores.testConfiguration)

        let listener = try Socket(.stream, on: coreB, nonBlocking: true)
        try listener.bind(port: 5200)
        try listener.listen()
        let client = try Socket(.stream, on: coreA!, nonBlocking: true)
        expectErrno(.nowInProgress) { try client.connect(.b(5200)) }
        var server: Socket?
        for _ in 0..<2000 where server == nil {
            coreA!.runOnce()
            coreB.runOnce()
            server = try? listener.accept().socket
        }
        let accepted = try #require(server)
        try accepted.setNonBlocking(true)

        coreA = nil  // the client socket is still open
        var endOfStream = false
        for _ in 0..<2000 where !endOfStream {
            coreB.runOnce()
            endOfStream = (try? accepted.receive(maximum: 16).bytes.isEmpty) == true
        }
        #expect(endOfStream, "the peer saw no FIN after the core with an open socket went away")
    }
}
