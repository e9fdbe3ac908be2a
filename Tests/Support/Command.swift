import Foundation

/// Runs external programs for the tests that need a Linux peer.
public enum Command {
    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var succeeded: Bool { status == 0 }
    }

    /// Runs `arguments` (found on PATH) to completion, stdout and stderr
    /// together, killing it after `timeout` seconds.
    @discardableResult
    public static func run(_ arguments: [String], timeout: Double = 30) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return Result(status: -1, output: "cannot run \(arguments.joined(separator: " ")): \(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var data = Data()
        let reader = pipe.fileHandleForReading
        let collected = DispatchSemaphore(value: 0)
        let box = DataBox()
        DispatchQueue.global().async {
            box.data = reader.readDataToEndOfFile()
            collected.signal()
        }
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        _ = collected.wait(timeout: .now() + 5)
        data = box.data
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    final class DataBox: @unchecked Sendable { var data = Data() }

    /// True when running as root (netns and tap tests need it).
    public static var isRoot: Bool { geteuid() == 0 }

    /// True when `name` is an executable on PATH.
    public static func exists(_ name: String) -> Bool {
        run(["sh", "-c", "command -v \(name)"]).succeeded
    }
}
