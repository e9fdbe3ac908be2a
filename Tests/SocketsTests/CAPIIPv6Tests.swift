import DataplaneRuntime
import Glibc
import Sockets
import SystemPackage
import Testing
import Wire

/// The C API with AF_INET6: sockaddr_in6 in (bind, connect) and out
/// (accept, getsockname, getpeername), and the length/family errnos in
/// Linux's order (length first on an AF_INET6 socket).
extension CAPITests {
    @Test("AF_INET6 through dp_*: sockaddr_in6 in and out, v4-mapped peers, EINVAL for short addresses, EAFNOSUPPORT for the other family")
    func ipv6Addresses() throws {
        let net = try TwoCores(ipv6: true)
        #expect(net.pump { net.a.stack.isLocalIPv6Address(TwoCores.address6A) && net.b.stack.isLocalIPv6Address(TwoCores.address6B) })
        let stream = Int32(SOCK_STREAM.rawValue)
        let listener = try net.b.socket(domain: AF_INET6, type: stream, protocol: 0)
        #expect(call(IPv6SocketAddress(.unspecified, 5700).sockaddr) { dp_bind(listener, $0, $1) } == 0)
        #expect(dp_listen(listener, 8) == 0)
        let client = try net.a.socket(domain: AF_INET6, type: stream, protocol: 0)
        #expect(call(IPv6SocketAddress(TwoCores.address6B, 5700).sockaddr) { dp_connect(client, $0, $1) } == 0)

        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let child = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_accept(listener, $0, &length) }
        }
        #expect(child >= SocketDescriptor.base && length == 28)
        let peer = withUnsafeBytes(of: &storage) { IPv6SocketAddress($0.loadUnaligned(as: sockaddr_in6.self)) }
        #expect(storage.ss_family == sa_family_t(AF_INET6) && peer.address == TwoCores.address6A)
        #expect(name(client, dp_getsockname) == IPv6SocketAddress(TwoCores.address6A, peer.port))
        #expect(name(client, dp_getpeername) == IPv6SocketAddress(TwoCores.address6B, 5700))

        // An IPv4 client of the dual-stack listener is ::ffff:10.0.0.1 in accept's sockaddr_in6.
        let client4 = try net.a.socket(domain: AF_INET, type: stream, protocol: 0)
        #expect(call(IPv4SocketAddress(TwoCores.addressB, 5700).sockaddr) { dp_connect(client4, $0, $1) } == 0)
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { dp_accept(listener, $0, &length) }
        }
        let mapped = withUnsafeBytes(of: &storage) { IPv6SocketAddress($0.loadUnaligned(as: sockaddr_in6.self)) }
        #expect(length == 28 && mapped.address == IPv6Address(ipv4Mapped: TwoCores.addressA))

        let fresh6 = try net.a.socket(domain: AF_INET6, type: stream, protocol: 0)
        expectC(.invalidArgument, "a sockaddr_in (16 bytes) on an AF_INET6 socket") {
            Int(call(IPv4SocketAddress(TwoCores.addressA, 0).sockaddr) { dp_bind(fresh6, $0, $1) })
        }
        var inetIn6 = IPv6SocketAddress(TwoCores.address6A, 0).sockaddr
        inetIn6.sin6_family = sa_family_t(AF_INET)
        expectC(.addressFamilyNotSupported, "AF_INET family in a sockaddr_in6-sized address") {
            Int(call(inetIn6) { dp_bind(fresh6, $0, $1) })
        }
        let fresh4 = try net.a.socket(domain: AF_INET, type: stream, protocol: 0)
        expectC(.addressFamilyNotSupported, "a sockaddr_in6 on an AF_INET socket") {
            Int(call(IPv6SocketAddress(TwoCores.address6B, 5700).sockaddr) { dp_connect(fresh4, $0, $1) })
        }
        var domain: Int32 = 0
        var size = socklen_t(4)
        #expect(dp_getsockopt(fresh6, SOL_SOCKET, SO_DOMAIN, &domain, &size) == 0 && domain == AF_INET6)
    }

    @Test("AF_INET6 SOCK_DGRAM through dp_*: sendto/recvfrom with sockaddr_in6, a v4-mapped IPv4 source, AF_UNSPEC as no address, EAFNOSUPPORT on AF_INET")
    func ipv6Datagrams() throws {
        let net = try TwoCores(ipv6: true)
        #expect(net.pump { net.a.stack.isLocalIPv6Address(TwoCores.address6A) && net.b.stack.isLocalIPv6Address(TwoCores.address6B) })
        let dgram = Int32(SOCK_DGRAM.rawValue)
        let server = try net.b.socket(domain: AF_INET6, type: dgram | Int32(SOCK_NONBLOCK.rawValue), protocol: 0)
        #expect(call(IPv6SocketAddress(.unspecified, 5710).sockaddr) { dp_bind(server, $0, $1) } == 0)
        let client = try net.a.socket(domain: AF_INET6, type: dgram, protocol: 0)
        let payload: [UInt8] = Array(repeating: 0x6b, count: 3000)
        #expect(call(IPv6SocketAddress(TwoCores.address6B, 5710).sockaddr) { address, length in
            Int32(payload.withUnsafeBytes { dp_sendto(client, $0.baseAddress, $0.count, 0, address, length) })
        } == 3000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var from = sockaddr_in6()
        var fromLength = socklen_t(MemoryLayout<sockaddr_in6>.size)
        func receive() -> Int {
            fromLength = socklen_t(MemoryLayout<sockaddr_in6>.size)
            return withUnsafeMutablePointer(to: &from) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    buffer.withUnsafeMutableBytes { dp_recvfrom(server, $0.baseAddress, $0.count, 0, address, &fromLength) }
                }
            }
        }
        var got = -1
        #expect(net.pump { got = receive(); return got >= 0 })
        #expect(got == 3000 && fromLength == 28 && from.sin6_family == sa_family_t(AF_INET6))
        #expect(IPv6SocketAddress(from).address == TwoCores.address6A)
        // An IPv4 client's datagram: recvfrom gives ::ffff:10.0.0.1 in a sockaddr_in6.
        let client4 = try net.a.socket(domain: AF_INET, type: dgram, protocol: 0)
        #expect(call(IPv4SocketAddress(TwoCores.addressB, 5710).sockaddr) { address, length in
            Int32(payload.withUnsafeBytes { dp_sendto(client4, $0.baseAddress, 10, 0, address, length) })
        } == 10)
        got = -1
        #expect(net.pump { got = receive(); return got >= 0 })
        #expect(got == 10 && fromLength == 28 && IPv6SocketAddress(from).address == IPv6Address(ipv4Mapped: TwoCores.addressA))
        // A 16-byte sockaddr_in connects a dual-stack datagram socket (as Linux).
        let dual = try net.a.socket(domain: AF_INET6, type: dgram, protocol: 0)
        #expect(call(IPv4SocketAddress(TwoCores.addressB, 5710).sockaddr) { dp_connect(dual, $0, $1) } == 0)
        #expect(name(dual, dp_getpeername) == IPv6SocketAddress(IPv6Address(ipv4Mapped: TwoCores.addressB), 5710))
        #expect(payload.withUnsafeBytes { dp_send(dual, $0.baseAddress, 7, 0) } == 7)
        got = -1
        #expect(net.pump { got = receive(); return got >= 0 })
        #expect(got == 7 && IPv6SocketAddress(from).address == IPv6Address(ipv4Mapped: TwoCores.addressA))
        // sendto with a 16-byte sockaddr_in on a dual-stack socket (udpv6_sendmsg's AF_INET case).
        let unconnected = try net.a.socket(domain: AF_INET6, type: dgram, protocol: 0)
        #expect(call(IPv4SocketAddress(TwoCores.addressB, 5710).sockaddr) { address, length in
            Int32(payload.withUnsafeBytes { dp_sendto(unconnected, $0.baseAddress, 5, 0, address, length) })
        } == 5)
        got = -1
        #expect(net.pump { got = receive(); return got >= 0 })
        #expect(got == 5 && IPv6SocketAddress(from).address == IPv6Address(ipv4Mapped: TwoCores.addressA))
        // AF_UNSPEC on an AF_INET6 socket is no address (EDESTADDRREQ unconnected), on AF_INET EAFNOSUPPORT.
        var unspecified = sockaddr_in6()
        unspecified.sin6_family = sa_family_t(AF_UNSPEC)
        expectC(.addressRequired, "AF_UNSPEC sendto on an unconnected AF_INET6 socket") {
            Int(call(unspecified) { address, length in Int32(dp_sendto(client, payload, 1, 0, address, length)) })
        }
        expectC(.addressFamilyNotSupported, "a sockaddr_in6 to an AF_INET datagram socket") {
            Int(call(IPv6SocketAddress(TwoCores.address6B, 5710).sockaddr) { address, length in Int32(dp_sendto(client4, payload, 1, 0, address, length)) })
        }
    }

    /// Calls `body` with a C address and its size.
    private func call<T>(_ address: T, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = address
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<T>.size)) }
        }
    }

    private func name(_ fd: Int32, _ get: (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?) -> Int32) -> IPv6SocketAddress? {
        var address = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { get(fd, $0, &length) }
        }
        return status == 0 && length == 28 ? IPv6SocketAddress(address) : nil
    }
}
