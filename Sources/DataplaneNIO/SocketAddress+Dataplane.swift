import Glibc
import NIOCore
import Sockets
import Wire

extension IPv4SocketAddress {
    /// NIO's form of the address.
    var nio: NIOCore.SocketAddress { NIOCore.SocketAddress(sockaddr, host: address.description) }

    /// Parses `host` as an IPv4 literal (the data plane has no resolver);
    /// "localhost" is not a data-plane address and is refused like any name.
    init(host: String, port: Int) throws {
        guard (0...65535).contains(port) else {
            throw IOError(errnoCode: EINVAL, reason: "port \(port) is outside 0...65535")
        }
        guard let address = IPv4Address(host) else {
            throw IOError(errnoCode: EAFNOSUPPORT, reason: "'\(host)' is not an IPv4 address: the data plane resolves no names, give A.B.C.D")
        }
        self.init(address, UInt16(port))
    }
}

extension ConnectAddress {
    /// The data plane's address of a NIO `SocketAddress` (IPv4 or IPv6;
    /// Unix-domain addresses are EAFNOSUPPORT).
    init(nio address: NIOCore.SocketAddress) throws {
        switch address {
        case .v4(let v4): self = .inet(IPv4SocketAddress(v4.address))
        case .v6(let v6): self = .inet6(IPv6SocketAddress(v6.address))
        default: throw IOError(errnoCode: EAFNOSUPPORT, reason: "\(address): the data plane has IPv4 and IPv6 sockets only")
        }
    }
}

extension NIOCore.SocketAddress {
    /// The socket family a channel for this address needs.
    var dataplaneFamily: Int32 {
        if case .v6 = self { return AF_INET6 }
        return AF_INET
    }

    /// Parses `host` as an IPv4 or IPv6 literal ("fd00::2" or "[fd00::2]";
    /// the data plane has no resolver).
    static func dataplane(host: String, port: Int) throws -> NIOCore.SocketAddress {
        if let v4 = try? IPv4SocketAddress(host: host, port: port) { return v4.nio }
        let text = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard (0...65535).contains(port) else {
            throw IOError(errnoCode: EINVAL, reason: "port \(port) is outside 0...65535")
        }
        guard let v6 = Wire.IPv6Address(text) else {
            throw IOError(errnoCode: EAFNOSUPPORT, reason: "'\(host)' is neither an IPv4 nor an IPv6 address: the data plane resolves no names")
        }
        return InternetSocketAddress.v6(IPv6SocketAddress(v6, UInt16(port))).nio
    }
}

extension InternetSocketAddress {
    /// NIO's form of the address.
    var nio: NIOCore.SocketAddress {
        switch self {
        case .v4(let a): return a.nio
        case .v6(let a): return NIOCore.SocketAddress(a.sockaddr, host: a.address.description)
        }
    }
}

extension SocketCore {
    /// bind() with an address of either family.
    func bind(_ descriptor: Int32, nio address: NIOCore.SocketAddress) throws {
        switch try ConnectAddress(nio: address) {
        case .inet(let v4): try bind(descriptor, to: v4)
        case .inet6(let v6): try bind(descriptor, to: v6)
        case .unspecified: throw IOError(errnoCode: EAFNOSUPPORT, reason: "bind needs an IPv4 or IPv6 address")
        }
    }
}

extension SocketError {
    /// The error NIO programs expect from a socket: `IOError` with the errno.
    var nio: IOError { IOError(errnoCode: errno.rawValue, reason: reason) }

    var isWouldBlock: Bool { errno == .resourceTemporarilyUnavailable || errno == .wouldBlock }
}
