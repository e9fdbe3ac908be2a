import ArgumentParser
import Foundation
import Platform
import Telemetry

@main
struct DumpCap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-dumpcap",
        abstract: "Captures a port of a running data-plane process to a pcapng file, from outside the process.",
        discussion: """
            dp-dumpcap opens FILE itself and passes its descriptor to the process over the telemetry socket
            (SCM_RIGHTS); the process's cores record into their capture rings and its writer thread writes the
            file. The capture stops after --count packets, after --duration seconds, or on SIGINT/SIGTERM.
            TARGET is a telemetry name or a pid (dp-stat lists them). Examples:
              dp-dumpcap 1234 -w /tmp/port0.pcapng
              dp-dumpcap dp-echo-1234 --port dp0 -w x.pcapng --filter 'tcp and port 7' --count 1000
            """)

    @Argument(help: "The process: a telemetry name or a pid.")
    var target: String

    @Option(name: [.short, .long], help: "The port: an index, a name (dp0), or all.")
    var port: String = "0"

    @Option(name: [.customShort("w"), .long], help: "The pcapng file to write (created or truncated).")
    var write: String

    @Option(name: [.short, .customLong("snaplen")], help: "Keep at most this many bytes of each packet.")
    var snapLength: Int?

    @Option(name: [.short, .long], help: "Stop after this many packets.")
    var count: Int?

    @Option(name: [.short, .long], help: "Capture only packets passing FILTER (host, port, tcp, udp, icmp, arp, ip; and, or, not).")
    var filter: String?

    @Option(name: [.customShort("a"), .long], help: "Stop after this many seconds.")
    var duration: Double?

    func validate() throws {
        if let snapLength, snapLength < 1 { throw ValidationError("--snaplen \(snapLength): use 1 or more") }
        if let count, count < 1 { throw ValidationError("--count \(count): use 1 or more") }
        if let duration, !(duration > 0) { throw ValidationError("--duration \(duration): must be positive") }
        if port.contains(" ") || port.isEmpty { throw ValidationError("--port '\(port)': an index, a name or all") }
    }

    func run() throws {
        do {
            try capture()
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("dp-dumpcap: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func capture() throws {
        let client = try TelemetryClient(name: try TelemetryDirectory.resolve(target))
        let descriptor = open(write, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw TelemetryFailure("cannot open \(write): \(String(cString: strerror(errno)))") }
        var command = "/capture/start port=\(port)"
        if let snapLength { command += " snaplen=\(snapLength)" }
        if let count { command += " count=\(count)" }
        if let filter { command += " filter=\(filter.replacingOccurrences(of: "\n", with: " "))" }
        let reply: [String: Any]
        do {
            reply = try parse(try client.request(command, descriptor: descriptor))
        } catch {
            close(descriptor)
            throw error
        }
        // The process holds its own copy now; the file is its to write.
        close(descriptor)
        if let error = reply["error"] as? String { throw TelemetryFailure(error) }
        StopSignals.install()
        say("dp-dumpcap: capturing \(reply["capture"] as? String ?? "") to \(write)")
        let started = Date()
        var status: [String: Any] = [:]
        while true {
            status = try parse(try client.request("/capture/status"))
            if status["finished"] as? Bool == true { break }
            if StopSignals.stopRequested || duration.map({ Date().timeIntervalSince(started) >= $0 }) == true {
                status = try parse(try client.request("/capture/stop"))
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if let error = status["error"] as? String { throw TelemetryFailure("the capture failed: \(error)") }
        say("dp-dumpcap: \(status["packets"] ?? 0) packets captured, \(status["dropped"] ?? 0) dropped, \(status["bytes"] ?? 0) bytes written"
            + (status["finished"] as? Bool == true ? "" : " (the process did not complete the file in time)"))
    }

    func parse(_ line: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TelemetryFailure("unexpected reply: \(line)")
        }
        return object
    }

    func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
