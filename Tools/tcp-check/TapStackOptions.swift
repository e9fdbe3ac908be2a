import ArgumentParser
import Wire

/// Where our stack runs: one tap and the stack's address on it.
struct TapStackOptions: ParsableArguments {
    @Option(help: "The Linux tap device NAME (created in the current network namespace when absent).")
    var tap: String

    @Option(help: "The stack's address and prefix, A.B.C.D/PREFIX.")
    var ip: String

    @Option(help: "The stack's MAC address.")
    var mac: String = "02:00:00:79:01:02"

    @Option(name: .customLong("pool-size"), help: "Packet buffers in the pool.")
    var poolSize: Int = 4096

    @Option(name: .customLong("ephemeral-ports"), help: "Local ports for connections, FIRST-LAST.")
    var ephemeralPorts: String = "49152-65535"

    func validate() throws {
        guard IPv4Network(ip) != nil, ip.contains("/") else {
            throw ValidationError("--ip '\(ip)': expected A.B.C.D/PREFIX, e.g. 10.79.1.2/24")
        }
        guard MACAddress(mac)?.isValidUnicast == true else {
            throw ValidationError("--mac '\(mac)': expected a unicast address like 02:00:00:00:00:01")
        }
        guard portRange != nil else {
            throw ValidationError("--ephemeral-ports '\(ephemeralPorts)': expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535")
        }
    }

    var portRange: ClosedRange<UInt16>? {
        let parts = ephemeralPorts.split(separator: "-")
        guard parts.count == 2, let first = UInt16(parts[0]), let last = UInt16(parts[1]), first >= 1, first <= last else {
            return nil
        }
        return first...last
    }
}
