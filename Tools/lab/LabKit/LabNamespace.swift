#if canImport(Glibc)
import Glibc
#endif

/// A network namespace made for one run, holding the run's taps. QEMU runs
/// inside it, so the guest's NICs can only ever reach this namespace.
public final class LabNamespace {
    public let name: String
    private let taps: [String]
    private var exists = true

    /// A unique name per run: process id and random bits.
    public static func uniqueName() -> String {
        "dplab-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    /// Creates the namespace and a tap per NIC, up, with its peer address.
    public init(nics: [LabNIC], name: String = LabNamespace.uniqueName()) throws(LabError) {
        self.name = name
        taps = nics.map(\.tap)
        try Subprocess.check(["ip", "netns", "add", name])
        do throws(LabError) {
            try Subprocess.check(["ip", "-n", name, "link", "set", "lo", "up"])
            for nic in nics {
                try Subprocess.check(["ip", "-n", name, "tuntap", "add", "dev", nic.tap, "mode", "tap"])
                try Subprocess.check(["ip", "-n", name, "link", "set", nic.tap, "up"])
                if let address = nic.peerAddress {
                    try Subprocess.check(["ip", "-n", name, "addr", "add", address, "dev", nic.tap])
                }
            }
        } catch {
            destroy()
            throw error
        }
    }

    /// `arguments` run inside the namespace.
    public func command(_ arguments: [String]) -> [String] { ["ip", "netns", "exec", name] + arguments }

    /// Deletes the taps and the namespace. Idempotent.
    public func destroy() {
        guard exists else { return }
        exists = false
        for tap in taps { _ = try? Subprocess.run(["ip", "-n", name, "link", "del", tap]) }
        _ = try? Subprocess.run(["ip", "netns", "del", name])
    }

    deinit { destroy() }
}
