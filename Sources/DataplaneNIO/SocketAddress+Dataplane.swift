import Glibc
import NIOCore
import Sockets
import Wire

extension IPv4SocketAddress {
    /// The data plane's address of a NIO `SocketAddress`; only IPv4 exists
    /// here, so IPv6 and Unix-domain addresses are EAFNOSUPPORT.
    init(nio address: NIOCore.SocketAddress) throws {
        guard case .v4(let v4) = address else {
            throw IOError(errnoCode: EAFNOSUPPORT, reason: "\(address): the data plane has IPv4 sockets only")
        }
        self.init(v4.address)
    }

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

extension SocketError {
    /// The error NIO programs expect from a socket: `IOError` with the errno.
    var nio: IOError { IOError(errnoCode: errno.rawValue, reason: reason) }

    var isWouldBlock: Bool { errno == .resourceTemporarilyUnavailable || errno == .wouldBlock }
}
