import Glibc
import Sockets
import SystemPackage
import Testing

/// close() and shutdown() put the FIN or RST on the wire before they return,
/// as the kernel does: an application that closes and then stops polling
/// (exits, or computes for a while) must not leave them in the transmit batch.
/// (Found by dp-tcp-check abort against Linux: the RST of a close with
/// SO_LINGER {1, 0} never left before the process exited.)
@Suite struct CloseFlushTests {
    /// Runs only B (A is not polled again) until `done` or `turns` pass.
    static func runOnlyB(_ cores: TwoCores, turns: Int = 2000, until done: () -> Bool) -> Bool {
        for _ in 0..<turns {
            cores.b.runOnce()
            if done() { return true }
        }
        return done()
    }

    @Test func closeWithLingerZeroSendsRSTBeforeReturning() throws {
        let cores = try TwoCores()
        let (client, server, _) = try cores.connectedTCP(port: 5100)
        try server.setNonBlocking(true)
        try client.setOption(level: SOL_SOCKET, name: SO_LINGER, value: linger(l_onoff: 1, l_linger: 0))
        try client.close()
        var outcome: Errno?
        let reset = Self.runOnlyB(cores) {
            do {
                _ = try server.receive(maximum: 16)
                return false
            } catch let error as SocketError {
                outcome = error.errno
                return error.errno != .resourceTemporarilyUnavailable
            } catch {
                return false
            }
        }
        #expect(reset && outcome == .connectionReset, "B saw \(String(describing: outcome)) without A polling after close")
    }

    @Test func closeSendsFINBeforeReturning() throws {
        let cores = try TwoCores()
        let (client, server, _) = try cores.connectedTCP(port: 5101)
        try server.setNonBlocking(true)
        try client.close()
        let endOfStream = Self.runOnlyB(cores) { (try? server.receive(maximum: 16).bytes.isEmpty) == true }
        #expect(endOfStream, "B saw no end of stream without A polling after close")
    }

    @Test func shutdownWriteSendsFINBeforeReturning() throws {
        let cores = try TwoCores()
        let (client, server, _) = try cores.connectedTCP(port: 5102)
        try server.setNonBlocking(true)
        try client.shutdown(Int32(SHUT_WR))
        let endOfStream = Self.runOnlyB(cores) { (try? server.receive(maximum: 16).bytes.isEmpty) == true }
        #expect(endOfStream, "B saw no end of stream without A polling after shutdown(SHUT_WR)")
    }
}
