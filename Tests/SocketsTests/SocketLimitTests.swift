import DataplaneRuntime
import Glibc
import Sockets
import Testing
import Wire

/// Issue 18: sockets cost no buffer memory when opened, so a core holds as
/// many as its limit says; at the limit socket() fails with EMFILE (per
/// core) or ENFILE (all cores), never with ENOMEM.
@Suite("Socket limits")
struct SocketLimitTests {
    let datagram = Int32(SOCK_DGRAM.rawValue)
    let stream = Int32(SOCK_STREAM.rawValue)

    @Test("100,000 UDP sockets on one core; EMFILE at the core's limit, ENFILE at the group's")
    func hundredThousandSockets() throws {
        var configuration = TwoCores.testConfiguration
        configuration.maximumSockets = 100_000
        let net = try TwoCores(configuration: configuration, group: SocketGroup(socketLimit: 100_010))
        var opened: [Int32] = []
        opened.reserveCapacity(100_000)
        for _ in 0..<100_000 { opened.append(try net.a.socket(domain: AF_INET, type: datagram, protocol: 0)) }
        #expect(Set(opened).count == 100_000)
        expectErrno(.tooManyOpenFiles, "core a's limit") { try net.a.socket(domain: AF_INET, type: stream, protocol: 0) }
        for _ in 0..<10 { _ = try net.b.socket(domain: AF_INET, type: stream, protocol: 0) }
        expectErrno(.tooManyOpenFilesInSystem, "the group's limit") { try net.b.socket(domain: AF_INET, type: datagram, protocol: 0) }
        // Closing one gives its slot back.
        try net.a.close(opened.removeLast())
        _ = try net.a.socket(domain: AF_INET, type: stream, protocol: 0)
        // Bound too: the UDP table grows to its limit, not 1,024.
        for (index, fd) in opened.prefix(5_000).enumerated() {
            try net.a.bind(fd, to: IPv4SocketAddress(.any, UInt16(20_000 + index)))
        }
        for fd in opened { try net.a.close(fd) }
        #expect(net.group.openSocketCount == 11)
    }

    @Test("a large SO_RCVBUF / SO_SNDBUF reserves nothing: many sockets with 16 MiB buffers open")
    func buffersAreNotReserved() throws {
        let net = try TwoCores()
        for _ in 0..<200 {
            let s = try Socket(.stream, on: net.a)
            try s.setOption(level: SOL_SOCKET, name: SO_RCVBUF, 8 << 20)
            try s.setOption(level: SOL_SOCKET, name: SO_SNDBUF, 8 << 20)
        }
    }
}
