import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// Results handed from tasks on the cores' executors to the test (one thread).
final class Outcome<T>: @unchecked Sendable {
    var value: T?
    var error: (any Error)?
}

@Suite("async sockets on the core's executor")
struct AsyncSocketTests {
    @Test("an async TCP echo: server and client tasks suspend on the poll loop and finish on the core's thread")
    func asyncEcho() throws {
        let net = try TwoCores()
        let listener = try Socket(.stream, on: net.b)
        try listener.bind(port: 6100)
        try listener.listen()
        let served = Outcome<Int>()
        let echoed = Outcome<[UInt8]>()
        let threadB = net.b
        net.b.task {
            do {
                precondition(threadB.isOnOwnerThread)
                let (connection, _) = try await listener.accept()
                var total = 0
                while true {
                    let (bytes, _) = try await connection.receive()
                    if bytes.isEmpty { break }
                    total += bytes.count
                    try await connection.send(bytes)
                }
                try connection.close()
                served.value = total
            } catch { served.error = error }
        }
        let message = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let a = net.a
        net.a.task {
            do {
                let client = try Socket(.stream, on: a)
                try await client.connect(.b(6100))
                try await client.send(message)
                try client.shutdown(Int32(SHUT_WR))
                var back: [UInt8] = []
                while true {
                    let (bytes, _) = try await client.receive()
                    if bytes.isEmpty { break }
                    back += bytes
                }
                echoed.value = back
            } catch { echoed.error = error }
        }
        #expect(net.pump(seconds: 10) { (served.value != nil || served.error != nil) && (echoed.value != nil || echoed.error != nil) })
        #expect(served.error == nil && echoed.error == nil, "\(String(describing: served.error)) \(String(describing: echoed.error))")
        #expect(served.value == message.count)
        #expect(echoed.value == message)
    }

    @Test("async UDP receive resumes when a datagram arrives; an async connect to a closed port throws ECONNREFUSED")
    func asyncUDPAndRefused() throws {
        let net = try TwoCores()
        let server = try Socket(.datagram, on: net.b)
        try server.bind(port: 6200)
        let got = Outcome<([UInt8], IPv4SocketAddress?)>()
        net.b.task {
            do { got.value = try await server.receive() } catch { got.error = error }
        }
        net.pump(seconds: 0.05)
        #expect(got.value == nil, "still waiting")
        let client = try Socket(.datagram, on: net.a)
        try client.bind(port: 6201)
        try client.send([1, 2, 3], to: .b(6200))
        #expect(net.pump { got.value != nil })
        #expect(got.value?.0 == [1, 2, 3] && got.value?.1 == .a(6201))

        let refused = Outcome<Errno>()
        let a = net.a
        net.a.task {
            do {
                let s = try Socket(.stream, on: a)
                try await s.connect(.b(6299))
            } catch let error as SocketError { refused.value = error.errno }
        }
        #expect(net.pump { refused.value != nil })
        #expect(refused.value == .connectionRefused)
    }
}
