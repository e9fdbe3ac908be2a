import ArgumentParser
import Foundation
import Telemetry

@main
struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-stat",
        abstract: "Shows a running data-plane process's ports, cores, TCP connections, ARP, routes and pools (through its telemetry socket).",
        discussion: """
            Without a target, lists the processes serving telemetry under /run/dataplane.
            TARGET is a telemetry name (as listed) or a pid. Examples:
              dp-stat                          # which processes
              dp-stat 1234                     # everything, as tables
              dp-stat dp-echo-1234 --show tcp  # the connections, as ss -ti shows them
              dp-stat 1234 --watch 1           # counters and their rates per second, every second
              dp-stat 1234 --json --show ports,cores
              dp-stat 1234 --command /ports/0/stats
              dp-stat 1234 --change 'route add 10.2.0.0/24 via 10.1.0.1'   # also route del, arp add, arp del
            """)

    @Argument(help: "The process: a telemetry name or a pid.")
    var target: String?

    @Option(help: "What to show, comma-separated: ports, xstats, cores, counters, tcp, arp, routes, pools, all.")
    var show: String = "all"

    @Flag(help: "Print the process's JSON instead of tables.")
    var json = false

    @Option(help: "Repeat every SECONDS, with rates per second of the port and core counters.")
    var watch: Double?

    @Option(help: "With --watch: stop after N samples (default: until interrupted).")
    var samples: Int?

    @Option(help: "Send one raw telemetry command (e.g. /cores/0) and print its JSON reply.")
    var command: String?

    @Option(help: "Change the route table or the static neighbours of every core at run time: 'route add|del ...' or 'arp add|del ...' (as --route-config's lines).")
    var change: String?

    static let views = ["ports", "xstats", "cores", "counters", "tcp", "arp", "routes", "pools"]

    func validate() throws {
        let asked = showList
        if let unknown = asked.first(where: { !Self.views.contains($0) && $0 != "all" }) {
            throw ValidationError("--show '\(unknown)': use \(Self.views.joined(separator: ", ")) or all")
        }
        if let watch, !(watch >= 0.1 && watch <= 3600) { throw ValidationError("--watch \(watch): use 0.1...3600 seconds") }
        if let samples, samples < 1 { throw ValidationError("--samples \(samples): use 1 or more") }
        if target == nil && (command != nil || watch != nil || change != nil) { throw ValidationError("give a target (a telemetry name or a pid)") }
    }

    var showList: [String] { show.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }

    var views: [String] { showList.contains("all") ? Self.views : showList }

    func run() throws {
        guard let target else { return listProcesses() }
        do {
            let connection = try StatConnection(name: try StatTarget.resolve(target))
            if let command {
                print(try connection.raw(command))
                return
            }
            if let change {
                let reply = try connection.ask("/routes/change change=\(change)") as? [String: Any] ?? [:]
                let cores = reply["cores"] as? [[String: Any]] ?? []
                let failed = cores.filter { $0["applied"] as? Bool != true }
                print("\(reply["change"] as? String ?? change): applied on \(cores.count - failed.count) of \(cores.count) cores")
                for core in failed { print("core \(core["core"] ?? "?"): \(core["error"] ?? "not applied")") }
                if !failed.isEmpty { throw StatError("the change was not applied on every core") }
                return
            }
            if let watch {
                try StatWatch(connection: connection, interval: watch, samples: samples, json: json).run()
                return
            }
            let report = try StatReport(connection: connection, views: views)
            print(json ? report.json() : report.tables(), terminator: json ? "\n" : "")
        } catch {
            FileHandle.standardError.write(Data("dp-stat: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func listProcesses() {
        let listed = StatTarget.list()
        if json {
            let entries = listed.map { ["name": $0.name, "pid": $0.pid as Any, "process": $0.process as Any, "alive": $0.alive] }
            let data = try! JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        var table = Table(title: "data-plane processes (\(TelemetryDirectory.root))", header: ["name", "pid", "process", "state"])
        table.rows = listed.map { [$0.name, $0.pid.map(String.init) ?? "-", $0.process ?? "-", $0.alive ? "running" : "stale (no answer)"] }
        print(table.render(), terminator: "")
    }
}
