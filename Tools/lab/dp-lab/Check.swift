import ArgumentParser
import LabKit
#if canImport(Glibc)
import Glibc
#endif

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check device access for every NIC kind under VFIO and UIO, in guests; exits 0 only if all pass.",
        discussion: "One boot per access mode, with an e1000, a modern virtio-net and a legacy virtio-net attached; dp-probe runs the checks in the guest.")

    @Option(help: "Seconds each boot may take.")
    var timeout: Double = 150

    @Flag(help: "Show the guests' output too.")
    var verbose = false

    @OptionGroup var content: ContentOptions

    func run() throws {
        LabRunner.installSignalHandlers()
        try exitingOnInterrupt(body)
    }

    func body() throws {
        let start = MonotonicClock.now
        let artifacts = try LabBuilder.prepare(content.contents, log: log)
        let nics = try LabNIC.plan(kinds: NICKind.allCases, macs: [], peerAddresses: [])
        var rows = [CheckRow]()
        for access in [LabAccess.vfio, .uio] {
            var options = LabRunOptions(nics: nics, access: access, command: CheckReport.probeCommand(nics: nics, access: access))
            options.timeout = timeout
            options.hugepages = 64
            options.progress = !verbose
            log("dp-lab check: booting a guest with \(nics.map(\.kind.rawValue).joined(separator: ", ")) under \(access.rawValue)")
            let result = try LabRunner.run(options, artifacts: artifacts, log: log) { line in
                if verbose { print("  guest| " + line) }
            }
            log("dp-lab check: \(access.rawValue) guest: boot \(result.bootSeconds.map(format) ?? "-") s, total \(format(result.totalSeconds)) s, probe status \(result.status.map(String.init) ?? "none")")
            if result.status == nil && !verbose { result.guestLines.suffix(20).forEach { log("  guest| " + $0) } }
            rows += CheckReport.rows(from: result.guestLines, nics: nics, access: access)
            if LabRunner.wasInterrupted { throw ExitCode(130) }
        }
        // Table rows by NIC kind, then access.
        rows.sort { ($0.kind.order, $0.access == .vfio ? 0 : 1) < ($1.kind.order, $1.access == .vfio ? 0 : 1) }
        print(CheckReport.table(rows))
        let passed = rows.filter(\.passed).count
        print("dp-lab check: \(passed)/\(rows.count) passed in \(format(MonotonicClock.now - start)) s")
        if passed != rows.count { throw ExitCode.failure }
    }
}

extension NICKind {
    var order: Int { NICKind.allCases.firstIndex(of: self)! }
}
