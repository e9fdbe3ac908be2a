import Foundation
import TestSupport

/// dp-echo on a tap inside a namespace of the test's own, with the Linux
/// kernel of that namespace as the peer: the tap's kernel side is
/// 10.9.0.1/24, the stack is 10.9.0.2/24.
final class LinuxPeer {
    static let kernelAddress = "10.9.0.1"
    static let stackAddress = "10.9.0.2"
    static let stackMAC = "02:00:00:00:00:02"
    static let tapName = "dp0"

    let namespace: NetworkNamespace
    let process: Process
    let directory: URL
    var statsPath: String { directory.appendingPathComponent("stats.json").path }
    var outputPath: String { directory.appendingPathComponent("dp-echo.out").path }

    /// The dp-echo built beside this test binary.
    static var echoBinary: String? {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = exe.deletingLastPathComponent().appendingPathComponent("dp-echo").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static var available: Bool {
        Command.isRoot && echoBinary != nil && Command.exists("socat") && Command.exists("ping")
    }

    init(seconds: Int = 60) throws {
        namespace = try NetworkNamespace(prefix: "dpe")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(namespace.name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for command in [
            ["ip", "tuntap", "add", "dev", Self.tapName, "mode", "tap"],
            ["ip", "addr", "add", "\(Self.kernelAddress)/24", "dev", Self.tapName],
            ["ip", "link", "set", Self.tapName, "up"],
        ] {
            let result = namespace.exec(command)
            guard result.succeeded else { throw NamespaceError(description: "\(command): \(result.output)") }
        }
        guard let binary = Self.echoBinary else { throw NamespaceError(description: "dp-echo is not built: run swift build") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace.name, binary, "--tap", Self.tapName,
                             "--ip", "\(Self.stackAddress)/24", "--mac", Self.stackMAC, "--udp-echo", "7",
                             "--seconds", String(seconds), "--stats-json", directory.appendingPathComponent("stats.json").path]
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Ready once it printed its first line.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && process.isRunning && !self.output.contains("dp-echo:") { usleep(20_000) }
        guard process.isRunning else { throw NamespaceError(description: "dp-echo exited: \(self.output)") }
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Runs a shell command in the namespace.
    @discardableResult
    func shell(_ script: String, timeout: Double = 20) -> Command.Result {
        namespace.exec(["sh", "-c", script], timeout: timeout)
    }

    /// Stops dp-echo (SIGTERM) and returns its counters.
    func stop() -> [String: Int] {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        guard let data = FileManager.default.contents(atPath: statsPath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let counters = json["counters"] as? [String: Any] else { return [:] }
        return counters.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
