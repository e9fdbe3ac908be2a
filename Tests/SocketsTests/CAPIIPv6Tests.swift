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
