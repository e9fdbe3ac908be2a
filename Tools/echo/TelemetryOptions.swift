import ArgumentParser
import Foundation
import Packets
import Ports
import Telemetry

/// `--telemetry-name NAME` / `--no-telemetry`, for any tool that runs stacks.
struct TelemetryOptions: ParsableArguments {
    @Option(name: .customLong("telemetry-name"),
            help: "Serve telemetry on /run/dataplane/NAME/telemetry.sock (default: the program's name and pid; see dp-stat).")
    var name: String?

    @Flag(name: .customLong("no-telemetry"), help: "Do not open a telemetry socket.")
    var disabled = false

    func validate() throws {
        if let name, let message = TelemetryDirectory.validationError(name: name) { throw ValidationError("--telemetry-name: \(message)") }
        if disabled && name != nil { throw ValidationError("--telemetry-name and --no-telemetry: give one") }
    }

    /// Starts the socket over `ports`, or nil with --no-telemetry. A
    /// name given must be served; the default one is a convenience: without
    /// it (not root, no /run) the tool runs on with a warning.
    func start(ports: StartedPorts) throws -> DataplaneTelemetry? {
        guard !disabled else { return nil }
        do {
            return try DataplaneTelemetry(name: name, ports: ports.ports.map { .init(label: $0.label, device: $0.device) },
                                          pools: [ports.pool])
        } catch {
            if name != nil { throw error }
            FileHandle.standardError.write(Data("warning: no telemetry socket (\(error)); --no-telemetry silences this\n".utf8))
            return nil
        }
    }
}
