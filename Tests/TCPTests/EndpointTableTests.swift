import Testing
import Wire
@testable import TCP

@Suite struct EndpointTableTests {
    static let server = TCPEndpoint(address: TablePair.addressB, port: 8080)

    static func syn(from port: UInt16, to endpoint: TCPEndpoint = server, seq: UInt32 = 1000,
                    options: TCPOptions = TCPOptions(maximumSegmentSize: 1460)) -> TCPRepr {
        TCPRepr(sourcePort: port, destinationPort: endpoint.port, sequenceNumber: seq, flags: .syn, window: 65535, options: options)
    }

    @Test func tableRepliesRSTForClosedPort() {
        let table = TCPEndpointTable(key: SipHashKey(k0: 1, k1: 1))
        let syn = Self.syn(from: 40000)
        [UInt8]().withUnsafeBytes {
            table.handle(segment: syn, payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .zero)
        }
        let out = TablePair.drain(table, now: .zero)
        #expect(out.count == 1)
        #expect(out.first?.repr.flags == [.rst, .ack])
        #expect(out.first?.repr.acknowledgmentNumber == 1001)
        #expect(out.first?.destination == TablePair.addressA)
        #expect(table.statistics.resetsForClosedPorts == 1)
    }

    @Test func connectToClosedPortIsRefused() throws {
        let pair = TablePair()
        let id = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
        #expect(pair.run(until: { pair.a.connection(id)?.error == .connectionRefused }))
        pair.step()  // events are collected after output is drained
        #expect(pair.eventsA.contains { if case .connection(id, let e) = $0 { return e.contains(.closed) } else { return false } })
    }

    @Test func listenerAcceptsAndTransfers() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
        var accepted: TCPConnectionID? = nil
        #expect(pair.run(until: {
            if accepted == nil { accepted = pair.b.accept(listener) }
            return accepted != nil && pair.a.connection(client)?.state == .established
        }))
        #expect(pair.eventsB.contains(.listener(listener, [.acceptable])))
        let data = patternBytes(count: 300_000, seed: 9)
        var sent = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        #expect(pair.run(until: {
            if sent < data.count {
                sent += data.withUnsafeBytes { (try? pair.a.send(client, UnsafeRawBufferPointer(rebasing: $0[sent...]))) ?? 0 }
            }
            let count = buffer.withUnsafeMutableBytes { (try? pair.b.receive(accepted!, into: $0)) ?? 0 }
            received += buffer[0..<count]
            return received.count == data.count
        }))
        #expect(received == data)
        #expect(pair.b.connectionTotals.bytesReceived == data.count)  // live connections count in the totals
        // Orderly close from the client: it ends in TIME-WAIT, the server frees its side.
        pair.a.release(client, now: pair.now)
        #expect(pair.run(until: { pair.b.connection(accepted!)?.state == .closeWait }))
        pair.b.release(accepted!, now: pair.now)
        #expect(pair.run(until: { pair.a.timeWaitCount == 1 && pair.b.connectionCount == 0 && pair.a.connectionCount == 0 }))
        #expect(pair.b.connection(accepted!) == nil)
        // Freed connections keep counting in the table's totals.
        #expect(pair.b.freedConnectionTotals.bytesReceived == data.count)
        #expect(pair.b.connectionTotals.bytesReceived == data.count)
        #expect(pair.a.connectionTotals.bytesSent == data.count)
    }

    @Test func listenTwiceOnOneEndpointFails() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 1, k1: 1))
        _ = try table.listen(on: Self.server, backlog: 1)
        #expect(throws: TCPCallError.addressInUse(Self.server)) { _ = try table.listen(on: Self.server, backlog: 1) }
    }

    @Test func synBacklogOverflowAnswersWithSYNCookie() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 5, k1: 6))
        let listener = try table.listen(on: Self.server, backlog: 16, synBacklog: 2)
        var options = TCPOptions(maximumSegmentSize: 1400, windowScale: 6, sackPermitted: true)
        options.timestamp = (777, 0)
        for port in UInt16(40000)..<40003 {
            [UInt8]().withUnsafeBytes {
                table.handle(segment: Self.syn(from: port, options: options), payload: $0,
                             source: TablePair.addressA, destination: TablePair.addressB, now: .milliseconds(100))
            }
        }
        let out = TablePair.drain(table, now: .milliseconds(100))
        #expect(out.count == 3)
        #expect(table.statistics.synCookiesSent == 1)
        #expect(table.connectionCount == 2)
        let cookie = try #require(out.first { $0.repr.destinationPort == 40002 })
        #expect(cookie.repr.flags == [.syn, .ack])
        #expect(cookie.repr.options.sackPermitted)
        #expect(cookie.repr.options.timestamp?.echoReply == 777)
        // The final ACK makes the connection from the cookie alone.
        var ackOptions = TCPOptions()
        ackOptions.timestamp = (778, cookie.repr.options.timestamp!.value)
        let ack = TCPRepr(sourcePort: 40002, destinationPort: Self.server.port, sequenceNumber: 1001,
                          acknowledgmentNumber: cookie.repr.sequenceNumber &+ 1, flags: .ack, window: 1000, options: ackOptions)
        Array("GET".utf8).withUnsafeBytes {
            table.handle(segment: ack, payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .milliseconds(150))
        }
        _ = TablePair.drain(table, now: .milliseconds(150))
        #expect(table.statistics.synCookiesAccepted == 1)
        let child = try #require(table.accept(listener))
        let connection = try #require(table.connection(child))
        #expect(connection.state == .established)
        #expect(connection.peerMSS == 1400)
        #expect(connection.sendWindowScale == 6)
        #expect(connection.sackEnabled && connection.timestampsEnabled)
        #expect(connection.sendWindow == 1000 << 6)
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { (try? connection.receive(into: $0)) ?? 0 }
        #expect(Array(buffer[0..<count]) == Array("GET".utf8))
    }

    /// A SYN retransmitted after the backlog had room again makes a normal
    /// half-open child; the peer's ACK of the cookie SYN-ACK it took first
    /// must still connect (Linux's tcp_check_req passes it to the cookie
    /// check), not be reset by the child.
    @Test func cookieACKReplacesHalfOpenChildFromRetransmittedSYN() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 5, k1: 6))
        let listener = try table.listen(on: Self.server, backlog: 16, synBacklog: 1)
        func feed(_ segment: TCPRepr, from port: UInt16, at ms: UInt64) -> [WireSegment] {
            [UInt8]().withUnsafeBytes {
                table.handle(segment: segment, payload: $0, source: TablePair.addressA, destination: TablePair.addressB,
                             now: .milliseconds(ms))
            }
            return TablePair.drain(table, now: .milliseconds(ms))
        }
        // 40000 takes the one backlog place; 40001 gets a cookie.
        let first = try #require(feed(Self.syn(from: 40000), from: 40000, at: 100).first)
        let cookie = try #require(feed(Self.syn(from: 40001, seq: 7000), from: 40001, at: 100).first)
        #expect(table.statistics.synCookiesSent == 1)
        // 40000 completes and leaves the backlog; 40001's SYN comes again and now makes a child.
        _ = feed(TCPRepr(sourcePort: 40000, destinationPort: Self.server.port, sequenceNumber: 1001,
                         acknowledgmentNumber: first.repr.sequenceNumber &+ 1, flags: .ack, window: 1000), from: 40000, at: 110)
        let childSYNACK = try #require(feed(Self.syn(from: 40001, seq: 7000), from: 40001, at: 120).first)
        #expect(childSYNACK.repr.flags == [.syn, .ack])
        #expect(childSYNACK.repr.sequenceNumber != cookie.repr.sequenceNumber)
        #expect(table.connectionCount == 2)
        // The peer ACKs the cookie's SYN-ACK: connected from the cookie, no RST.
        let replies = feed(TCPRepr(sourcePort: 40001, destinationPort: Self.server.port, sequenceNumber: 7001,
                                   acknowledgmentNumber: cookie.repr.sequenceNumber &+ 1, flags: .ack, window: 1000),
                           from: 40001, at: 130)
        #expect(!replies.contains { $0.repr.flags.contains(.rst) })
        #expect(table.statistics.synCookiesOverHalfOpen == 1)
        #expect(table.statistics.synCookiesAccepted == 1)
        _ = try #require(table.accept(listener))
        let second = try #require(table.accept(listener))
        #expect(table.connection(second)?.state == .established)
        #expect(table.connection(second)?.sendNext == TCPSequenceNumber(cookie.repr.sequenceNumber &+ 1))
        #expect(table.connectionCount == 2)
        // A forged ACK on a half-open child is still the child's to answer (a reset), not a connection.
        let third = try #require(feed(Self.syn(from: 40002, seq: 9000), from: 40002, at: 140).first)
        #expect(third.repr.flags == [.syn, .ack])
        let forged = feed(TCPRepr(sourcePort: 40002, destinationPort: Self.server.port, sequenceNumber: 9001,
                                  acknowledgmentNumber: 0x1234_5678, flags: .ack, window: 1000), from: 40002, at: 150)
        #expect(forged.contains { $0.repr.flags.contains(.rst) })
        #expect(table.statistics.synCookiesOverHalfOpen == 1)
    }

    @Test func forgedCookieIsAnsweredWithRST() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 5, k1: 6))
        _ = try table.listen(on: Self.server, backlog: 4)
        let ack = TCPRepr(sourcePort: 40000, destinationPort: Self.server.port, sequenceNumber: 5000,
                          acknowledgmentNumber: 0x1234_5678, flags: .ack, window: 1000)
        [UInt8]().withUnsafeBytes {
            table.handle(segment: ack, payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .milliseconds(1000))
        }
        let out = TablePair.drain(table, now: .milliseconds(1000))
        #expect(out.first?.repr.flags == [.rst])
        #expect(table.statistics.synCookiesRejected == 1)
        #expect(table.connectionCount == 0)
    }

    @Test func synFloodKeepsMemoryBoundedAndNewConnectionsSucceed() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 64, synBacklog: 32)
        // 20,000 spoofed SYNs that never complete.
        for index in 0..<20_000 {
            let syn = Self.syn(from: UInt16(1024 + index % 60000), seq: UInt32(index))
            [UInt8]().withUnsafeBytes {
                pair.b.handle(segment: syn, payload: $0, source: IPv4Address(172, 16, UInt8(index >> 8 & 0xff), UInt8(index & 0xff)),
                              destination: TablePair.addressB, now: pair.now)
            }
            if index % 256 == 0 { _ = TablePair.drain(pair.b, now: pair.now) }
        }
        _ = TablePair.drain(pair.b, now: pair.now)
        #expect(pair.b.connectionCount <= 32)
        #expect(pair.b.statistics.synCookiesSent >= 19_000)
        // A real client still gets in (through a cookie, the backlog being full).
        let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
        var accepted: TCPConnectionID? = nil
        #expect(pair.run(until: {
            if accepted == nil { accepted = pair.b.accept(listener) }
            return accepted != nil && pair.a.connection(client)?.state == .established
        }))
    }

    @Test func acceptQueueFullDropsSYN() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 5, k1: 6))
        _ = try table.listen(on: Self.server, backlog: 1)
        // One completed handshake fills the accept queue.
        [UInt8]().withUnsafeBytes {
            table.handle(segment: Self.syn(from: 40000), payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .zero)
        }
        let synAck = try #require(TablePair.drain(table, now: .zero).first)
        let ack = TCPRepr(sourcePort: 40000, destinationPort: Self.server.port, sequenceNumber: 1001,
                          acknowledgmentNumber: synAck.repr.sequenceNumber &+ 1, flags: .ack, window: 1000)
        [UInt8]().withUnsafeBytes {
            table.handle(segment: ack, payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .zero)
        }
        _ = TablePair.drain(table, now: .zero)
        [UInt8]().withUnsafeBytes {
            table.handle(segment: Self.syn(from: 40001), payload: $0, source: TablePair.addressA, destination: TablePair.addressB, now: .zero)
        }
        #expect(TablePair.drain(table, now: .zero).isEmpty)
        #expect(table.statistics.synsDropped == 1)
    }

    @Test func ephemeralPortsAreDistinctPerRemote() throws {
        let table = TCPEndpointTable(key: SipHashKey(k0: 5, k1: 6))
        var ports = Set<UInt16>()
        for _ in 0..<1000 {
            let id = try table.connect(from: TablePair.addressA, to: Self.server, now: .zero)
            let port = try #require(table.connection(id)?.tuple.local.port)
            #expect(TCPConfiguration().ephemeralPorts.contains(port))
            ports.insert(port)
        }
        #expect(ports.count == 1000)
    }

    @Test func ephemeralPortsRunOutWithClearError() throws {
        var configuration = TCPConfiguration()
        configuration.ephemeralPorts = 50000...50003
        let table = TCPEndpointTable(configuration: configuration, key: SipHashKey(k0: 5, k1: 6))
        for _ in 0..<4 { _ = try table.connect(from: TablePair.addressA, to: Self.server, now: .zero) }
        #expect(throws: TCPCallError.noEphemeralPort) { _ = try table.connect(from: TablePair.addressA, to: Self.server, now: .zero) }
    }

    @Test func timeWaitEntryReACKsFINAndExpires() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
        var accepted: TCPConnectionID? = nil
        #expect(pair.run(until: {
            if accepted == nil { accepted = pair.b.accept(listener) }
            return accepted != nil
        }))
        pair.a.release(client, now: pair.now)
        #expect(pair.run(until: { pair.b.connection(accepted!)?.state == .closeWait }))
        pair.b.release(accepted!, now: pair.now)
        #expect(pair.run(until: { pair.a.timeWaitCount == 1 }))
        let tuple = try #require(pair.a.timeWaitTuples.first)
        // A retransmitted FIN from the server gets an ACK from the TIME-WAIT entry.
        let fin = TCPRepr(sourcePort: tuple.remote.port, destinationPort: tuple.local.port, sequenceNumber: 1,
                          acknowledgmentNumber: 1, flags: [.fin, .ack], window: 100)
        [UInt8]().withUnsafeBytes {
            pair.a.handle(segment: fin, payload: $0, source: tuple.remote.address, destination: tuple.local.address, now: pair.now)
        }
        #expect(TablePair.drain(pair.a, now: pair.now).first?.repr.flags == [.ack])
        pair.advance(.seconds(61))
        #expect(pair.a.timeWaitCount == 0)
    }

    @Test func timeWaitReusedBySYNWithNewerTimestamp() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        let client = try pair.a.connect(from: TablePair.addressA, port: 45000, to: Self.server, now: pair.now)
        var accepted: TCPConnectionID? = nil
        #expect(pair.run(until: {
            if accepted == nil { accepted = pair.b.accept(listener) }
            return accepted != nil
        }))
        // The server closes first, so the server holds TIME-WAIT.
        pair.b.release(accepted!, now: pair.now)
        #expect(pair.run(until: { pair.a.connection(client)?.state == .closeWait }))
        pair.a.release(client, now: pair.now)
        #expect(pair.run(until: { pair.b.timeWaitCount == 1 && pair.a.connectionCount == 0 }))
        pair.advance(.seconds(1))
        // The same 4-tuple again, well within 2 MSL: RFC 6191 lets it in.
        let again = try pair.a.connect(from: TablePair.addressA, port: 45000, to: Self.server, now: pair.now)
        #expect(pair.run(until: { pair.a.connection(again)?.state == .established }, limit: .seconds(5)))
        #expect(pair.b.statistics.timeWaitReused == 1)
    }

    @Test func tenThousandSequentialConnectCloseCycles() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 64)
        var completed = 0
        for _ in 0..<10_000 {
            let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
            var accepted: TCPConnectionID? = nil
            let ok = pair.run(until: {
                if accepted == nil { accepted = pair.b.accept(listener) }
                return accepted != nil && pair.a.connection(client)?.state == .established
            }, limit: .seconds(5))
            guard ok, let server = accepted else { break }
            pair.a.release(client, now: pair.now)
            pair.run(until: { pair.b.connection(server)?.state == .closeWait }, limit: .seconds(5))
            pair.b.release(server, now: pair.now)
            pair.run(until: { pair.a.connectionCount == 0 && pair.b.connectionCount == 0 }, limit: .seconds(5))
            completed += 1
        }
        #expect(completed == 10_000)
        #expect(pair.a.connectionCount == 0 && pair.b.connectionCount == 0)
        #expect(pair.a.timeWaitCount > 0)
    }
}

extension EndpointTableTests {
    /// Many connections at once through one listener (some through SYN
    /// cookies), each echoing a message, with loss both ways.
    @Test(arguments: [200, 1000])
    func concurrentConnectionsEcho(count: Int) throws {
        var options = TCPConnectionOptions()
        options.sendBufferSize = 8192
        options.receiveBufferSize = 8192
        let pair = TablePair(toB: ImpairmentPattern(dropEvery: 97, dropPhase: 11), toA: ImpairmentPattern(dropEvery: 89, dropPhase: 5))
        let listener = try pair.b.listen(on: Self.server, backlog: count, synBacklog: count / 4, options: options)
        var clients: [TCPConnectionID: Int] = [:]
        for index in 0..<count {
            clients[try pair.a.connect(from: TablePair.addressA, to: Self.server, options: options, now: pair.now)] = index
        }
        let message = patternBytes(count: 3000, seed: 77)
        var received = [[UInt8]](repeating: [], count: count)
        var complete = 0
        var accepted = 0
        var buffer = [UInt8](repeating: 0, count: 8192)
        var handledA = 0
        var handledB = 0
        let done = pair.run(until: {
            // Events drive the work, as the socket layer would.
            while handledB < pair.eventsB.count {
                let event = pair.eventsB[handledB]
                handledB += 1
                switch event {
                case .listener:
                    while let child = pair.b.accept(listener) {
                        accepted += 1
                        pair.eventsB.append(.connection(child, [.readable]))
                    }
                case .connection(let server, let events) where events.contains(.readable):
                    while true {
                        let got = buffer.withUnsafeMutableBytes { (try? pair.b.receive(server, into: $0)) ?? 0 }
                        if got == 0 { break }
                        let taken = buffer.withUnsafeBytes { (try? pair.b.send(server, UnsafeRawBufferPointer(rebasing: $0[0..<got]))) ?? 0 }
                        #expect(taken == got)  // the ring is larger than the message
                    }
                default:
                    break
                }
            }
            while handledA < pair.eventsA.count {
                guard case .connection(let client, let events) = pair.eventsA[handledA] else { handledA += 1; continue }
                handledA += 1
                guard let index = clients[client] else { continue }
                if events.contains(.connected) {
                    let taken = message.withUnsafeBytes { (try? pair.a.send(client, $0)) ?? 0 }
                    #expect(taken == message.count)
                }
                if events.contains(.readable) {
                    while true {
                        let got = buffer.withUnsafeMutableBytes { (try? pair.a.receive(client, into: $0)) ?? 0 }
                        if got == 0 { break }
                        received[index] += buffer[0..<got]
                        if received[index].count == message.count { complete += 1 }
                    }
                }
            }
            return complete == count
        }, limit: .seconds(30))
        #expect(done, "\(complete) of \(count) complete, \(accepted) accepted, cookies \(pair.b.statistics.synCookiesAccepted)")
        #expect(received.allSatisfy { $0 == message })
        #expect(accepted == count)
        #expect(pair.b.statistics.synCookiesAccepted > 0)
    }
}

extension EndpointTableTests {
    @Test func stackWideDefaultOptionsApply() throws {
        var configuration = TCPConfiguration()
        configuration.defaultConnectionOptions.congestionControl = .cubic
        configuration.defaultConnectionOptions.receiveBufferSize = 32 * 1024
        let table = TCPEndpointTable(configuration: configuration, key: SipHashKey(k0: 1, k1: 1))
        let id = try table.connect(from: TablePair.addressA, to: Self.server, now: .zero)
        let connection = try #require(table.connection(id))
        if case .cubic = connection.congestion {} else { Issue.record("expected CUBIC from the stack default") }
        #expect(connection.receiveBuffer.capacity == 32 * 1024)
        var perSocket = TCPConnectionOptions()
        perSocket.congestionControl = .newReno
        let other = try table.connect(from: TablePair.addressA, to: Self.server, options: perSocket, now: .zero)
        if case .newReno = try #require(table.connection(other)).congestion {} else { Issue.record("expected NewReno per socket") }
    }

    @Test func setOptionsTurnsKeepAliveOn() throws {
        let pair = TablePair()
        let listener = try pair.b.listen(on: Self.server, backlog: 4)
        let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
        #expect(pair.run(until: { pair.b.accept(listener) != nil && pair.a.connection(client)?.state == .established }))
        var options = try #require(pair.a.connection(client)).options
        options.keepAlive = true
        options.keepAliveIdle = .seconds(5)
        try pair.a.setOptions(client, options, now: pair.now)
        pair.step()
        #expect(pair.a.nextDeadline != nil)
        pair.advance(.seconds(5))
        #expect(pair.a.connection(client)?.statistics.keepAliveProbes == 1)
    }
}

extension EndpointTableTests {
    @Test func ownTimeWaitReusedWhenPortsRunOut() throws {
        var configuration = TCPConfiguration()
        configuration.ephemeralPorts = 50000...50003
        let pair = TablePair(configuration: configuration)
        let listener = try pair.b.listen(on: Self.server, backlog: 8)
        func cycle() throws {
            let client = try pair.a.connect(from: TablePair.addressA, to: Self.server, now: pair.now)
            var server: TCPConnectionID? = nil
            #expect(pair.run(until: {
                if server == nil { server = pair.b.accept(listener) }
                return server != nil && pair.a.connection(client)?.state == .established
            }, limit: .seconds(5)))
            pair.a.release(client, now: pair.now)
            #expect(pair.run(until: { pair.b.connection(server!)?.state == .closeWait }, limit: .seconds(5)))
            pair.b.release(server!, now: pair.now)
            #expect(pair.run(until: { pair.a.connectionCount == 0 && pair.b.connectionCount == 0 }, limit: .seconds(5)))
        }
        for _ in 0..<4 { try cycle() }
        #expect(pair.a.timeWaitCount == 4)
        pair.advance(.seconds(1))
        try cycle()  // all four ports are in TIME-WAIT: one of them (over 1 s old, timestamps) is reused
        #expect(pair.a.statistics.timeWaitReused == 1)
        #expect(pair.a.timeWaitCount == 4)
    }
}
