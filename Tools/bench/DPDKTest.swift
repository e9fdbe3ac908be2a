import Foundation

/// Runs DPDK's `dpdk-test` on the host (no hugepages, no PCI) and hands
/// each output line to `onLine` as it comes; `onLine` returns true when it
/// has all it needs, which ends the run early. Bounded by `seconds`.
enum DPDKTest {
    static let executable = "/usr/bin/dpdk-test"

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    @discardableResult
    static func run(command: String, cores: String = "0,1", seconds: Int, onLine: (String) -> Bool) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // A prefix of our own: DPDK's default ("rte") locks out, or is locked
        // out by, any other DPDK process on the machine.
        process.arguments = ["--no-huge", "-m", "512", "--no-pci", "-l", cores, "--log-level", "lib.eal:error",
                             "--file-prefix=dpbench\(ProcessInfo.processInfo.processIdentifier)"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write("\(command)\nquit\n".data(using: .utf8)!)
        try? input.fileHandleForWriting.close()

        let deadline = Date().addingTimeInterval(TimeInterval(seconds))
        var pending = Data()
        var done = false
        let reader = output.fileHandleForReading
        while !done && Date() < deadline {
            let chunk = reader.availableData  // blocks until data or end of file
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if onLine(line) { done = true; break }
            }
        }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return done
    }
}
