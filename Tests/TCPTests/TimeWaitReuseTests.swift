import Testing
import Wire
@testable import TCP

/// Active opens once every ephemeral port toward a peer is in TIME-WAIT
/// (Linux-peer suite 57 runs 10,000+ cycles; at thousands of connections
/// per second a 16,384-port range is all in TIME-WAIT within seconds).
@Suite struct TimeWaitReuseTests {
    static let server = TCPEndpoint(address: TablePair.addressB, port: 8080)

    /// One connection that we close first, so its TIME-WAIT is ours. Returns its local port.
    static func cycle(_ pair: TablePair, _ listener: TCPListenerID) throws -> UInt16 {
        let client = try pair.a.connect(from: TablePair.addressA, to: server, now: pair.now)
        let port = try #require(pair.a.connection(client)?.tuple.local.port)
        var accepted: TCPConnectionID? = nil
        #expect(pair.run(until: {
            if accepted == nil { accepted = pair.b.accept(listener) }
            return accepted != nil && pair.a.connection(client)?.state == .established
        }, limit: .seconds(5)))
        pair.a.release(client, now: pair.now)
        #expect(pair.run(until: { pair.b.connection(accepted!)?.state == .closeWait }, limit: .seconds(5)))
        pair.b.release(accepted!, now: pair.now)
        #expect(pair.run(until: { pair.a.connectionCount == 0 && pair.b.connectionCount == 0 }, limit: .seconds(5)))
        return port
    }

    @Test func fullRangeInTimeWaitReusesOldestEntriesWithShortSearch() throws {
        var configuration = TCPConfiguration()
        configuration.ephemeralPorts = 50000...50255
        let pair = TablePair(configuration: configuration)
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        var firstRound: [UInt16] = []
        for _ in 0..<256 { firstRound.append(try Self.cycle(pair, listener)) }
        #expect(Set(firstRound).count == 256)
        #expect(pair.a.timeWaitCount == 256)
        pair.advance(.seconds(2))

        let probesBefore = pair.a.statistics.ephemeralPortProbes
        var secondRound: [UInt16] = []
        for _ in 0..<100 { secondRound.append(try Self.cycle(pair, listener)) }
        let probes = pair.a.statistics.ephemeralPortProbes - probesBefore
        #expect(pair.a.statistics.timeWaitReused == 100)
        // Oldest first: the ports come back in the order they entered TIME-WAIT.
        #expect(secondRound == Array(firstRound.prefix(100)))
        // A few candidates per connect, not the whole range (256) each time.
        #expect(probes <= 100 * Int(TCPEndpointTable.freePortLookahead + 2), "examined \(probes) ports for 100 connects")
    }

    @Test func freePortPreferredOverReusableEntryNearby() throws {
        var configuration = TCPConfiguration()
        configuration.ephemeralPorts = 50000...50003
        let pair = TablePair(configuration: configuration)
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        var ports: [UInt16] = []
        for _ in 0..<3 { ports.append(try Self.cycle(pair, listener)) }
        pair.advance(.seconds(2))
        // Three ports in reusable TIME-WAIT, one free: the free one is taken.
        let port = try Self.cycle(pair, listener)
        #expect(!ports.contains(port))
        #expect(pair.a.statistics.timeWaitReused == 0)
    }
}
