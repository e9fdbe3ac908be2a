import Glibc
import Sockets
import SystemPackage
import Testing

@Suite("gathered send (writev)")
struct GatheredSendTests {
    /// Calls `body` with the buffers as one list of raw pointers.
    func gathering<R>(_ parts: [[UInt8]], _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws -> R) rethrows -> R {
        let pointers = parts.map { part -> UnsafeRawBufferPointer in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: part.count, alignment: 1)
            copy.copyBytes(from: part)
            return UnsafeRawBufferPointer(copy)
        }
        defer { for pointer in pointers { pointer.deallocate() } }
        return try pointers.withUnsafeBufferPointer { try body($0) }
    }

    @Test("the buffers arrive in order, blocking and non-blocking")
    func inOrder() throws {
        let net = try TwoCores()
        let (client, server, _) = try net.connectedTCP(port: 5600)
        let parts: [[UInt8]] = [Array("HTTP/1.1 200 OK\r\n\r\n".utf8), [], Array("body".utf8)]
        let total = parts.reduce(0) { $0 + $1.count }
        #expect(try gathering(parts) { try net.a.send(client.descriptor, gathering: $0) } == total)
        try client.setNonBlocking(true)
        #expect(try gathering(parts) { try net.a.send(client.descriptor, gathering: $0, flags: .dontWait) } == total)
        var received: [UInt8] = []
        net.pump(seconds: 2) {
            if let bytes = try? server.receive(maximum: 4096, flags: .dontWait).bytes { received += bytes }
            return received.count == 2 * total
        }
        #expect(received == (parts + parts).flatMap { $0 })
    }

    @Test("a full send buffer takes a prefix, then EAGAIN; datagram sockets refuse")
    func fullBufferAndDatagrams() throws {
        let net = try TwoCores()
        let (client, _, _) = try net.connectedTCP(port: 5601)
        try client.setNonBlocking(true)
        let big = [UInt8](repeating: 7, count: 200_000)
        var queued = 0
        var sawAgain = false
        for _ in 0..<20 {
            do {
                queued += try gathering([big, big]) { try net.a.send(client.descriptor, gathering: $0) }
            } catch {
                #expect((error as? SocketError)?.errno == .resourceTemporarilyUnavailable)
                sawAgain = true
                break
            }
        }
        #expect(sawAgain)
        #expect(queued > 0)
        let datagram = try Socket(.datagram, on: net.a)
        expectErrno(.notSupportedOnSocket) { try gathering([[1]]) { try net.a.send(datagram.descriptor, gathering: $0) } }
    }
}
