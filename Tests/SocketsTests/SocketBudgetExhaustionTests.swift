import Sockets
import SystemPackage
import Testing

/// The socket budget at its bound, through the public API only
/// (SocketCoreConfiguration.maximumSockets, socket/accept/close), so the
/// check holds whatever the budget's bookkeeping becomes (Docs/ROBUSTNESS.md).
@Suite("Socket budget at its bound")
struct SocketBudgetExhaustionTests {
    @Test("socket() and accept() fail with EMFILE at the bound, work again after a close; open sockets keep working")
    func budgetBound() throws {
        var configuration = TwoCores.testConfiguration
        configuration.maximumSockets = 4
        let cores = try TwoCores(configuration: configuration)
        let listener = try Socket(.stream, on: cores.b, nonBlocking: true)
        try listener.bind(port: 5300)
        try listener.listen()
        var clients: [Socket] = []
        var accepted: [Socket] = []
        for _ in 0..<3 {
            let client = try Socket(.stream, on: cores.a)
            try client.connect(.b(5300))
            clients.append(client)
            var server: Socket?
            #expect(cores.pump(until: { server = try? listener.accept().socket; return server != nil }))
            accepted.append(try #require(server))
        }
        // B holds 4 sockets: its bound.
        expectErrno(.tooManyOpenFiles, "socket() at the bound") { try Socket(.datagram, on: cores.b) }
        // A fourth connection completes in the backlog, and accept refuses it without losing it.
        let fourth = try Socket(.stream, on: cores.a)
        try fourth.connect(.b(5300))
        cores.pump(seconds: 0.2)
        expectErrno(.tooManyOpenFiles, "accept() at the bound") { try listener.accept() }
        try accepted.removeFirst().close()
        var late: Socket?
        #expect(cores.pump(until: { late = try? listener.accept().socket; return late != nil }), "accept after a close")
        // The open connections still carry data.
        let message: [UInt8] = Array("still here".utf8)
        _ = try fourth.send(message)
        var got: [UInt8] = []
        #expect(cores.pump(until: {
            got = (try? late?.receive(maximum: 64, flags: .dontWait).bytes) ?? []
            return !got.isEmpty
        }))
        #expect(got == message)
        for socket in clients + accepted + [fourth, listener] + (late.map { [$0] } ?? []) { try? socket.close() }
    }
}
