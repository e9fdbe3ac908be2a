import ArgumentParser
import LabKit
#if canImport(Glibc)
import Glibc
#endif

@main
struct DPLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-lab",
        abstract: "The QEMU guest lab: boot a guest with emulated NICs bound to vfio-pci or uio_pci_generic and run a command in it.",
        discussion: """
            Every run happens in a network namespace of its own, with one tap per NIC; QEMU runs \
            with TCG only. The kernel comes from Debian's linux-image package, cached in \
            $DP_LAB_CACHE (default /var/cache/dataplane-lab). See Docs/LAB.md.
            """,
        subcommands: [Run.self, Check.self, Bench.self])
}

/// Options that shape the guest's contents, shared by run and check.
struct ContentOptions: ParsableArguments {
    @Option(name: .customLong("product"), help: "Another executable product of this package to put in the guest (repeatable).")
    var products: [String] = []

    @Option(name: .customLong("include"), help: "A host file or directory to put in the guest, HOST or HOST:GUEST (repeatable; also DP_LAB_INCLUDE=a,b). Shared libraries of ELF files come along.")
    var includes: [String] = []

    @Option(name: .customLong("module"), help: "Another kernel module to load in the guest, e.g. e1000 (repeatable).")
    var modules: [String] = []

    var contents: LabContents {
        var contents = LabContents()
        for product in products where !contents.products.contains(product) { contents.products.append(product) }
        contents.extraFiles = includes + LabContents.extraFilesFromEnvironment()
        contents.extraModules = modules
        return contents
    }
}

func log(_ text: String) {
    writeStandardError(text + "\n")
}

extension NICKind: ExpressibleByArgument {}
extension LabAccess: ExpressibleByArgument {}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot a guest and run GUEST-COMMAND in it; exits with its status.",
        discussion: """
            One GUEST-COMMAND argument is a shell command line (dp-lab run -- 'dp-devbind status; ls /dev/vfio'); \
            several are one command with its arguments. The lab NICs sit at 0000:00:10.0, 0000:00:11.0, ... in the \
            guest, in --nic order. Exit status: the command's, 124 on timeout, 130 on Ctrl-C, 125 when the guest \
            ended without reporting one.
            """)

    @Option(name: .customLong("nic"), help: "A NIC: e1000, virtio or virtio-legacy (repeatable, in guest slot order).")
    var nics: [NICKind] = []

    @Option(help: "How the guest gives the NICs to userspace: vfio, uio or none.")
    var access: LabAccess = .vfio

    @Option(name: .customLong("mac"), help: "MAC of the NIC at the same position (default 52:54:00:12:34:56, :57, ...).")
    var macs: [String] = []

    @Option(name: .customLong("peer-ip"), help: "Address for the namespace side of the tap at the same position, e.g. 10.0.0.1/24.")
    var peerAddresses: [String] = []

    @Option(name: .customLong("peer"), help: "A host command run in the namespace once the guest is ready (repeatable).")
    var peers: [String] = []

    @Option(help: "Queue pairs per virtio NIC (QEMU mq=on with a multiqueue tap).")
    var queuePairs = 1

    @Flag(help: "Receive-side scaling in each virtio NIC with queue pairs (QEMU rss=on): the driver programs the Toeplitz key and table.")
    var rss = false

    @Flag(help: "Put each NIC behind a PCIe root port of its own (hot-pluggable: QMP device_del {\"id\": \"nicN\"}); the guest then sees NIC N at 0000:0(N+1):00.0.")
    var hotplug = false

    @Option(help: "2 MiB hugepages to reserve in the guest.")
    var hugepages: Int = 128

    @Option(help: "Guest memory in MiB.")
    var memory: Int = 2048

    @Option(help: "Guest CPUs.")
    var cpus: Int = 2

    @Option(help: "Seconds the whole run may take, boot included.")
    var timeout: Double = 120

    @Option(help: "Seconds after which a guest not yet ready counts as a stalled boot and is booted once more (default: a third of --timeout, 60-240).")
    var bootLimit: Double?

    @Flag(help: "Show the kernel's boot messages too.")
    var verbose = false

    @OptionGroup var content: ContentOptions

    @Argument(parsing: .postTerminator, help: "The command to run in the guest.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the guest command after --, e.g. dp-lab run --nic e1000 -- dp-devbind status") }
        guard hugepages >= 0, hugepages * 2 < memory else { throw ValidationError("--hugepages \(hugepages) does not fit in --memory \(memory) MiB") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard bootLimit.map({ $0 > 0 }) ?? true else { throw ValidationError("--boot-limit must be positive") }
    }

    func run() throws {
        LabRunner.installSignalHandlers()
        try exitingOnInterrupt(body)
    }

    func body() throws {
        var nicsPlan = try LabNIC.plan(kinds: nics, macs: macs, peerAddresses: peerAddresses, queuePairs: queuePairs, rss: rss)
        for index in nicsPlan.indices { nicsPlan[index].hotplug = hotplug }
        let artifacts = try LabBuilder.prepare(content.contents, log: log)
        var options = LabRunOptions(nics: nicsPlan, access: access, command: command)
        options.hugepages = hugepages
        options.peers = peers
        options.timeout = timeout
        options.bootLimit = bootLimit
        options.memoryMiB = memory
        options.cpus = cpus
        options.verbose = verbose
        let result = try LabRunner.run(options, artifacts: artifacts, log: log) { line in
            print(line)
            fflush(nil)
        }
        log("dp-lab: guest command status \(result.status.map(String.init) ?? "none"); boot \(result.bootSeconds.map(format) ?? "-") s\(result.boots > 1 ? " (second boot)" : ""), total \(format(result.totalSeconds)) s")
        throw ExitCode(result.exitCode)
    }
}

/// Runs `body`; an interruption (Ctrl-C, SIGTERM) exits with 130.
func exitingOnInterrupt(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as LabError where LabRunner.wasInterrupted {
        log("dp-lab: \(error)")
        throw ExitCode(130)
    }
}

func format(_ seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
