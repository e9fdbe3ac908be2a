import Foundation
import Glibc
import NetDevice
import Packets
import Ports
import Sockets
import Stack
import SystemPackage
import Testing
import TestSupport
import Wire

/// One socket core on a tap in a namespace the test makes; the Linux
/// kernel of that namespace (10.78.0.1) is the peer; we are 10.78.0.2.
final class TapCore {
    static let ours = IPv4Address(10, 78, 0, 2)
    static let linux = IPv4Address(10, 78, 0, 1)
    let namespace: NetworkNamespace
    let ports: StartedPorts
    var pool: PacketPool { ports.pool }
    let core: SocketCore

    init() throws {
        namespace = try NetworkNamespace(prefix: "dps")
        // The tap is made inside the namespace (its thread), by the one bring-up.
        ports = try namespace.withThreadInside { () throws -> StartedPorts in
            try PortBringUp.start([.tap("dps0", mac: nil)],
                                  pool: PoolRequest(name: "interop", capacity: 4096, cacheSize: 0, policy: .anonymous))
        }
        #expect(namespace.exec(["ip", "addr", "add", "10.78.0.1/24", "dev", "dps0"]).succeeded)
        #expect(namespace.exec(["ip", "link", "set", "dps0", "up"]).succeeded)
        let stack = NetStack(pool: ports.pool)
        try ports.attach(0, to: stack, InterfaceConfiguration(address: IPv4Network(address: Self.ours, prefixLength: 24)!))
        stack.start()
        var configuration = SocketCoreConfiguration()
        configuration.idleSleepMicroseconds = 50
        configuration.raisesSIGPIPE = false
        core = try SocketCore(stack: stack, group: SocketGroup(), configuration: configuration)
    }

    deinit { ports.stop() }

    /// Runs a Python program in the namespace on another thread (the core
    /// keeps this one); `wait` returns its result.
    func python(_ program: String, timeout: Double = 30) -> () -> Command.Result {
        let box = ResultBox()
        let name = namespace.name
        let thread = Thread {
            box.result = Command.run(["ip", "netns", "exec", name, "python3", "-c", program], timeout: timeout)
        }
        thread.start()
        return {
            while !thread.isFinished { self.core.runOnce(); usleep(1000) }
            return box.result!
        }
    }
}

final class ResultBox: @unchecked Sendable { var result: Command.Result? }

@Suite("interop with Linux over a tap", .enabled(if: Command.isRoot, "tap devices and network namespaces need root"))
struct LinuxInteropTests {
    @Test("a Linux TCP client talks to our server: 200 KB echoed, orderly close")
    func linuxClientOurTCPServer() throws {
        let tap = try TapCore()
        let listener = try Socket(.stream, on: tap.core)
        try listener.bind(port: 7000)
        try listener.listen()
        try listener.setTimeouts(receive: 15)
        let client = tap.python("""
            import socket
            data = bytes((i * 7) & 0xFF for i in range(200000))
            s = socket.create_connection(("10.78.0.2", 7000), timeout=10)
            s.sendall(data); s.shutdown(socket.SHUT_WR)
            back = b""
            while True:
                c = s.recv(65536)
                if not c: break
                back += c
            assert back == data, len(back)
            print("ok")
            """)
        let (connection, peer) = try listener.accept()
        #expect(peer.address == TapCore.linux)
        try connection.setTimeouts(receive: 15, send: 15)
        var total = 0
        while true {
            let (bytes, _) = try connection.receive()
            if bytes.isEmpty { break }
            total += try connection.send(bytes)
        }
        try connection.close()
        let result = client()
        #expect(result.succeeded && result.output.contains("ok"), "\(result.output)")
        #expect(total == 200_000)
    }

    @Test("our TCP client talks to a Linux server")
    func ourTCPClientLinuxServer() throws {
        let tap = try TapCore()
        let server = tap.python("""
            import socket
            l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("10.78.0.1", 7100)); l.listen(1); l.settimeout(15)
            c, a = l.accept()
            c.settimeout(10)
            data = b""
            while True:
                x = c.recv(65536)
                if not x: break
                data += x
            c.sendall(data[::-1]); c.close()
            print("ok", a[0], len(data))
            """)
        let message = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 3) }
        var connected: Socket?
        for _ in 0..<100 {  // until the Python server listens
            let s = try Socket(.stream, on: tap.core)
            do {
                try s.connect(IPv4SocketAddress(TapCore.linux, 7100))
                connected = s
                break
            } catch {
                let refused = (error as SocketError).errno == .connectionRefused
                try s.close()
                if !refused { throw error }
                usleep(50_000)
            }
        }
        let s = try #require(connected)
        try s.setTimeouts(receive: 15, send: 15)
        #expect(try s.send(message) == message.count)
        try s.shutdown(Int32(SHUT_WR))
        var back: [UInt8] = []
        while true {
            let (bytes, _) = try s.receive()
            if bytes.isEmpty { break }
            back += bytes
        }
        #expect(back == Array(message.reversed()))
        let result = server()
        #expect(result.succeeded && result.output.contains("ok 10.78.0.2 100000"), "\(result.output)")
    }

    @Test("UDP both ways: Linux client to our echo, our client to a Linux echo")
    func udpBothWays() throws {
        let tap = try TapCore()
        let echo = try Socket(.datagram, on: tap.core)
        try echo.bind(port: 7200)
        try echo.setTimeouts(receive: 10)
        let client = tap.python("""
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
            for n in range(10):
                m = b"ping %d" % n + bytes(n * 100)
                u.sendto(m, ("10.78.0.2", 7200))
                d, a = u.recvfrom(65536)
                assert d == m and a == ("10.78.0.2", 7200), (d, a)
            print("ok")
            """)
        for _ in 0..<10 {
            let (bytes, source) = try echo.receive()
            try echo.send(bytes, to: source)
        }
        let result = client()
        #expect(result.succeeded && result.output.contains("ok"), "\(result.output)")

        let server = tap.python("""
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.78.0.1", 7300)); u.settimeout(10)
            for n in range(5):
                d, a = u.recvfrom(65536); u.sendto(d.upper(), a)
            print("ok")
            """)
        let ours = try Socket(.datagram, on: tap.core)
        try ours.connect(IPv4SocketAddress(TapCore.linux, 7300))
        try ours.setTimeouts(receive: 0.3)
        var answered = 0
        var attempts = 0
        while answered < 5 && attempts < 60 {  // the Python server may not be bound yet
            attempts += 1
            try ours.send(Array("hello \(answered)".utf8))
            do {
                let (bytes, _) = try ours.receive()
                #expect(bytes == Array("HELLO \(answered)".utf8))
                answered += 1
            } catch {
                let code = (error as SocketError).errno
                if code != .resourceTemporarilyUnavailable && code != .connectionRefused { throw error }
            }
        }
        #expect(answered == 5)
        let done = server()
        #expect(done.succeeded, "\(done.output)")
    }

    @Test("IP_TTL and IP_TOS set on our UDP socket arrive in Linux's view of the datagram")
    func ttlAndTOSOnTheWire() throws {
        let tap = try TapCore()
        let ours = try Socket(.datagram, on: tap.core)
        try ours.bind(port: 7401)
        try ours.setOption(level: Int32(IPPROTO_IP), name: IP_TTL, 33)
        try ours.setOption(level: Int32(IPPROTO_IP), name: IP_TOS, 0x20)
        try ours.setTimeouts(receive: 10)
        let linux = tap.python("""
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
            u.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
            u.bind(("10.78.0.1", 7400)); u.settimeout(10)
            u.sendto(b"ready", ("10.78.0.2", 7401))
            data, ancillary, flags, source = u.recvmsg(100, 256)
            values = {}
            for level, kind, payload in ancillary:
                if kind == socket.IP_TTL: values["ttl"] = int.from_bytes(payload[:4], "little")
                if kind == socket.IP_TOS: values["tos"] = payload[0]
            print("ttl", values.get("ttl"), "tos", values.get("tos"), data.decode())
            """)
        let ready: (bytes: [UInt8], source: IPv4SocketAddress?)
        do {
            ready = try ours.receive()
        } catch {
            Issue.record("no 'ready' from the Python peer: \(error); it said: \(linux().output)")
            return
        }
        #expect(ready.bytes == Array("ready".utf8))
        try ours.send(Array("marked".utf8), to: try #require(ready.source))
        let result = linux()
        #expect(result.output.contains("ttl 33 tos 32 marked"), "\(result.output)")
    }
}
