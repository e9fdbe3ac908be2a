import ArgumentParser
import Wire

/// A peer's IPv4 address and TCP port, A.B.C.D:PORT.
struct PeerAddress: ExpressibleByArgument, CustomStringConvertible {
    let address: IPv4Address
    let port: UInt16

    init?(argument: String) {
        let parts = argument.split(separator: ":")
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let port = UInt16(parts[1]), port > 0 else {
            return nil
        }
        self.address = address
        self.port = port
    }

    var description: String { "\(address):\(port)" }
}
