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
                try Subprocess.check(["ip", "-n", name, "tuntap", "add", "dev", nic.tap, "mode", "tap"]
                    + (nic.queuePairs > 1 ? ["multi_queue"] : []))
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

    /// Deletes namespaces of earlier runs whose dp-lab died without
    /// tearing down (SIGKILL), when no process is left inside them.
    public static func removeStale(log: (String) -> Void) {
        guard let listing = try? Subprocess.check(["ip", "netns", "list"]) else { return }
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard let owner = ownerPID(name), kill(owner, 0) != 0, errno == ESRCH else { continue }
            guard let pids = try? Subprocess.check(["ip", "netns", "pids", name]), pids.trimmingWhitespace().isEmpty else { continue }
            log("dp-lab: removing namespace \(name) left by an earlier run (process \(owner) is gone)")
            _ = try? Subprocess.run(["ip", "netns", "del", name])
        }
    }

    /// The dp-lab process id in a name made by `uniqueName()`.
    public static func ownerPID(_ name: String) -> pid_t? {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[0] == "dplab", let pid = pid_t(parts[1]), pid > 0,
            UInt32(parts[2], radix: 16) != nil
        else { return nil }
        return pid
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
