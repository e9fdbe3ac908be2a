/// Everything that shapes one guest's QEMU command line.
public struct QEMUConfiguration: Sendable, Equatable {
    public var kernel: String
    public var initrd: String
    public var access: LabAccess
    public var nics: [LabNIC]
    public var memoryMiB: Int = 2048
    public var cpus: Int = 2
    /// Extra kernel command-line words.
    public var extraKernelArguments: [String] = []
    /// Where QEMU listens for QMP (its machine protocol: set_link,
    /// device_del, system_reset...), a Unix socket; nil: no monitor.
    public var qmpSocket: String?

    public init(kernel: String, initrd: String, access: LabAccess, nics: [LabNIC]) {
        self.kernel = kernel
        self.initrd = initrd
        self.access = access
        self.nics = nics
    }
}

/// Builds the QEMU command line: TCG only (a stock guest kernel hangs under
/// KVM on these machines), q35, `-cpu max` (Debian's DPDK needs SSE4.2 and
/// more), the serial console on stdout, no reboot, one tap per NIC.
/// `no_timer_check`: under TCG on a loaded host the kernel's boot-time check
/// that the timer interrupt arrives through the IO-APIC can miss its window
/// and panic ("timer doesn't work through Interrupt-remapped IO-APIC"); the
/// emulated timer works, so the check is skipped as on other hypervisors.
/// `cryptomgr.notests`: the crypto self-tests at boot are skipped (the guest
/// uses no kernel crypto, and on a loaded host one soft-locked a boot).
public enum QEMUCommand {
    public static let executable = "qemu-system-x86_64"

    public static func arguments(_ configuration: QEMUConfiguration) -> [String] {
        var kernelArguments = ["console=ttyS0", "panic=-1", "quiet", "loglevel=3", "no_timer_check", "cryptomgr.notests"]
        var arguments = [
            executable,
            "-machine", "q35", "-accel", "tcg", "-cpu", "max",
            "-smp", String(configuration.cpus), "-m", String(configuration.memoryMiB),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
        ]
        if configuration.access == .vfio {
            // The emulated IOMMU gives each device an IOMMU group (Debian has
            // no VFIO no-IOMMU mode); 48 address bits admit IOVA = virtual address.
            arguments += ["-device", "intel-iommu,aw-bits=48"]
            kernelArguments += ["intel_iommu=on", "iommu=pt"]
        }
        for (index, nic) in configuration.nics.enumerated() {
            // A hot-pluggable NIC sits behind a root port of its own (ACPI
            // hotplug, QEMU's q35 default since 6.1); device_del takes its id.
            let rootPort = nic.hotplug ? "rp\(index)" : nil
            if let rootPort {
                arguments += ["-device", "pcie-root-port,id=\(rootPort),bus=pcie.0,addr=0x\(String(nic.slot, radix: 16)),chassis=\(index + 1),slot=\(index + 1)"]
            }
            arguments += [
                "-netdev", "tap,id=net\(index),ifname=\(nic.tap),script=no,downscript=no"
                    + (nic.queuePairs > 1 ? ",queues=\(nic.queuePairs)" : ""),
                "-device", nic.kind.qemuDevice(
                    netdev: "net\(index)", mac: nic.mac, slot: nic.slot, access: configuration.access, queuePairs: nic.queuePairs, rss: nic.rss,
                    rootPort: rootPort) + (nic.hotplug ? ",id=nic\(index)" : ""),
            ]
        }
        if let qmpSocket = configuration.qmpSocket {
            arguments += ["-qmp", "unix:\(qmpSocket),server=on,wait=off"]
        }
        arguments += [
            "-kernel", configuration.kernel, "-initrd", configuration.initrd,
            "-append", (kernelArguments + configuration.extraKernelArguments).joined(separator: " "),
        ]
        return arguments
    }
}
