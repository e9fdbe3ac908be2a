import ArgumentParser
import LabKit
#if canImport(Glibc)
import Glibc
#endif

/// `dp-lab bench`: dp-testpmd against Debian's dpdk-testpmd on the same two
/// NICs in one guest boot, alternating, counted by the same host-side
/// counter (the taps' rx_packets, sampled in the namespace every 0.25 s).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare dp-testpmd with DPDK's testpmd on two lab NICs in one boot (txonly or io).",
        discussion: """
            Each round runs dp-testpmd, then dpdk-testpmd, for --seconds each. A peer in the namespace samples \
            tap0/tap1 rx_packets every 0.25 s; a run's rate is the median of the sampling intervals inside it \
            that carry traffic (at least a quarter of the run's busiest interval), so start-up time is left out. \
            txonly counts frames arriving on both taps; io feeds tap0 from a bounded generator in the namespace \
            and counts what leaves on tap1. Prints pps per port and ours/DPDK (median over rounds), writes \
            results/NIC-MODE.json and a PNG bar chart.
            """)

    @Option(help: "The NIC kind (two are attached).")
    var nic: NICKind = .e1000

    @Option(help: "txonly or io.")
    var mode: String = "txonly"

    @Option(help: "What to compare with: dpdk.")
    var compare: String = "dpdk"

    @Option(help: "How the guest gives the NICs to userspace: vfio or uio.")
    var access: LabAccess = .vfio

    @Option(help: "Seconds per run.")
    var seconds: Int = 10

    @Option(help: "Alternations (ours, then DPDK); the median is reported.")
    var rounds: Int = 3

    @Option(name: .customLong("frame-size"), help: "Frame bytes without FCS.")
    var frameSize: Int = 64

    @Option(help: "Burst size for both.")
    var burst: Int = 32

    @Option(help: "Ring sizes for both.")
    var ring: Int = 256

    @Option(help: "Directory for the JSON and PNG.")
    var results: String = "results"

    @OptionGroup var content: ContentOptions

    func validate() throws {
        guard mode == "txonly" || mode == "io" else { throw ValidationError("--mode txonly or io") }
        guard compare == "dpdk" else { throw ValidationError("--compare dpdk is the only comparison") }
        guard access != .none else { throw ValidationError("--access vfio or uio") }
        guard (3...120).contains(seconds), (1...9).contains(rounds) else { throw ValidationError("--seconds 3...120, --rounds 1...9") }
    }

    static let dpdkBinary = "/usr/bin/dpdk-testpmd"
    static let dpdkLibraries = "/usr/lib/x86_64-linux-gnu/dpdk"

    /// A sample of the taps' rx_packets, and a run's begin and end marks.
    typealias Sample = (time: Double, tap0: Double, tap1: Double)
    typealias Mark = (kind: String, round: Int, begin: Double, end: Double?)

    func run() throws {
        LabRunner.installSignalHandlers()
        guard Glibc.access(Self.dpdkBinary, X_OK) == 0 else {
            throw ValidationError("\(Self.dpdkBinary) is missing: apt-get install dpdk (Tools/bootstrap.sh does)")
        }
        guard let pmds = listDirectory(Self.dpdkLibraries).first(where: { $0.hasPrefix("pmds-") }) else {
            throw ValidationError("no pmds-* directory in \(Self.dpdkLibraries): is Debian's dpdk installed?")
        }
        var contents = content.contents
        if !contents.products.contains("dp-testpmd") { contents.products.append("dp-testpmd") }
        contents.extraFiles += [Self.dpdkBinary, Self.dpdkLibraries]
        let artifacts = try LabBuilder.prepare(contents, log: log)
        let nics = try LabNIC.plan(kinds: [nic, nic], macs: [], peerAddresses: [])
        let root = try LabBuilder.packageRoot()
        let options = runOptions(nics: nics, pmds: pmds, root: root)
        log("dp-lab bench: \(nic.rawValue) \(mode) under \(access.rawValue), \(rounds) rounds of \(seconds) s each side")
        let (samples, marks) = try measure(options, artifacts: artifacts)
        try report(samples: samples, marks: marks, root: root)
    }

    /// The guest script (rounds of ours then DPDK's) and the namespace
    /// peers: the tap counter sampler, and the generator for io.
    func runOptions(nics: [LabNIC], pmds: String, root: String) -> LabRunOptions {
        let p0 = "0000:00:10.0", p1 = "0000:00:11.0"
        let ours = "dp-testpmd --pci \(p0) --pci \(p1) --forward-mode \(mode) --seconds \(seconds) --burst \(burst) "
            + "--rxd \(ring) --txd \(ring) --frame-size \(frameSize)"
        let startup = 8
        // A legacy virtio device bypasses the emulated IOMMU: DPDK needs
        // IOVA = physical address there (as Dataplane's driver uses).
        let iovaMode = nic == .virtioLegacy && access == .vfio ? "--iova-mode=pa " : ""
        let dpdk = "dpdk-testpmd -l 0-1 -n 1 \(iovaMode)-d \(Self.dpdkLibraries)/\(pmds) -a \(p0) -a \(p1) -- "
            + "--forward-mode=\(mode) --burst=\(burst) --rxd=\(ring) --txd=\(ring) --txpkts=\(frameSize) --nb-cores=1 --stats-period 1"
        var script = "sleep 1\n"
        for round in 1...rounds {
            script += "echo '@@BENCH begin ours \(round)'; \(ours) > /tmp/ours.out 2>&1; echo '@@BENCH end ours \(round)'; grep -E 'pps' /tmp/ours.out | tail -2; sleep 2\n"
            script += "echo '@@BENCH begin dpdk \(round)'; \(dpdk) > /tmp/dpdk.out 2>&1 & p=$!; sleep \(seconds + startup); kill -INT $p; wait $p; "
                + "echo '@@BENCH end dpdk \(round)'; grep -E 'TX-packets' /tmp/dpdk.out | tail -1; sleep 2\n"
        }
        let total = Double(rounds * (2 * seconds + startup + 6) + 30)
        let samples = Int(total * 4) + 200
        var peers = ["i=0; while [ $i -lt \(samples) ]; do echo \"@@C $(date +%s.%N) $(cat /sys/class/net/tap0/statistics/rx_packets) $(cat /sys/class/net/tap1/statistics/rx_packets)\"; sleep 0.25; i=$((i+1)); done"]
        if mode == "io" {
            peers.append("/usr/bin/python3 -u \(root)/Tools/lab/bench/io-generator.py \(Int(total)) 100000000 \(frameSize) \(nics[0].mac)")
        }
        var options = LabRunOptions(nics: nics, access: access, command: [script])
        options.hugepages = 256
        options.timeout = total + 120
        options.peers = peers
        return options
    }

    /// Boots the guest and collects the counter samples and the run marks
    /// from its output.
    func measure(_ options: LabRunOptions, artifacts: LabArtifacts) throws -> (samples: [Sample], marks: [Mark]) {
        var samplesSeen = [Sample]()
        var marks = [Mark]()
        let result = try LabRunner.run(options, artifacts: artifacts, log: log) { line in
            var text = line
            if text.hasPrefix("peer: ") { text.removeFirst(6) }
            let fields = text.split(separator: " ")
            if fields.first == "@@C", fields.count == 4, let t = Double(fields[1]), let a = Double(fields[2]), let b = Double(fields[3]) {
                samplesSeen.append((t, a, b))
            } else if fields.first == "@@BENCH", fields.count == 4, let round = Int(fields[3]) {
                let now = realtime()
                if fields[1] == "begin" {
                    marks.append((String(fields[2]), round, now, nil))
                } else if let index = marks.lastIndex(where: { $0.kind == fields[2] && $0.round == round }) {
                    marks[index].end = now
                }
                print(text)
            } else if !text.hasPrefix("@@") {
                print("  " + line)
            }
        }
        guard result.status == 0 else {
            log("dp-lab bench: the guest script ended with \(result.status.map(String.init) ?? "no status")")
            throw ExitCode.failure
        }
        return (samplesSeen, marks)
    }

    /// Prints each round's rates and the medians, and writes the results.
    func report(samples: [Sample], marks: [Mark], root: String) throws {
        var roundResults = [(round: Int, ours: Double, dpdk: Double)]()
        for round in 1...rounds {
            guard let o = rate(kind: "ours", round: round, marks: marks, samples: samples),
                let d = rate(kind: "dpdk", round: round, marks: marks, samples: samples)
            else {
                log("dp-lab bench: round \(round) has no measurable traffic on one side")
                throw ExitCode.failure
            }
            roundResults.append((round, o, d))
            print("round \(round): ours \(Int(o)) pps/port, dpdk \(Int(d)) pps/port, ratio \(fixed(o / d))")
        }
        let oursMedian = median(roundResults.map(\.ours)), dpdkMedian = median(roundResults.map(\.dpdk))
        let ratio = median(roundResults.map { $0.ours / $0.dpdk })
        print("dp-lab bench \(nic.rawValue) \(mode): ours \(Int(oursMedian)) pps/port, dpdk \(Int(dpdkMedian)) pps/port, ours/dpdk \(fixed(ratio)) (median of \(rounds))")
        try writeResults(rounds: roundResults, ours: oursMedian, dpdk: dpdkMedian, ratio: ratio, root: root)
    }

    /// Median per-port rate of the busy sampling intervals inside a run.
    func rate(kind: String, round: Int, marks: [Mark], samples: [Sample]) -> Double? {
        guard let mark = marks.first(where: { $0.kind == kind && $0.round == round }), let end = mark.end else { return nil }
        let inside = samples.filter { $0.time >= mark.begin && $0.time <= end }
        guard inside.count >= 3 else { return nil }
        var rates = [Double]()
        for i in 1..<inside.count {
            let dt = inside[i].time - inside[i - 1].time
            guard dt > 0 else { continue }
            let packets = mode == "io" ? inside[i].tap1 - inside[i - 1].tap1 : (inside[i].tap0 - inside[i - 1].tap0 + inside[i].tap1 - inside[i - 1].tap1) / 2
            rates.append(packets / dt)
        }
        guard let busiest = rates.max(), busiest > 0 else { return nil }
        return median(rates.filter { $0 >= busiest / 4 })
    }

    func writeResults(rounds: [(round: Int, ours: Double, dpdk: Double)], ours: Double, dpdk: Double, ratio: Double, root: String) throws {
        let directory = results.hasPrefix("/") ? results : root + "/" + results
        _ = mkdir(directory, 0o755)
        let base = directory + "/\(nic.rawValue)-\(mode)"
        let roundsJSON = rounds.map {
            "    {\"round\": \($0.round), \"ours_pps_per_port\": \(Int($0.ours)), \"dpdk_pps_per_port\": \(Int($0.dpdk)), \"ratio\": \(fixed($0.ours / $0.dpdk, digits: 3))}"
        }.joined(separator: ",\n")
        let json = """
            {
              "tool": "dp-lab bench", "nic": "\(nic.rawValue)", "mode": "\(mode)", "access": "\(access.rawValue)",
              "compare": "dpdk-testpmd 22.11", "seconds": \(seconds), "frame_size": \(frameSize), "burst": \(burst), "ring": \(ring),
              "counter": "host tap rx_packets sampled every 0.25 s; median of busy intervals per run",
              "ours_pps_per_port": \(Int(ours)), "dpdk_pps_per_port": \(Int(dpdk)), "ratio": \(fixed(ratio, digits: 3)),
              "rounds": [
            \(roundsJSON)
              ]
            }

            """
        guard let file = fopen(base + ".json", "w") else { throw ValidationError("cannot write \(base).json") }
        _ = json.withCString { fputs($0, file) }
        fclose(file)
        log("dp-lab bench: wrote \(base).json")
        let plot = try Subprocess.run(["/usr/bin/python3", root + "/Tools/lab/bench/plot.py", base + ".json", base + ".png"])
        log(plot.status == 0 ? "dp-lab bench: wrote \(base).png" : "dp-lab bench: no PNG (matplotlib missing?)")
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func fixed(_ value: Double, digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return String((value * scale).rounded() / scale)
}

func realtime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func listDirectory(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names = [String]()
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
