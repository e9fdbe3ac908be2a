import ArgumentParser
import Capture

/// `--capture PORT:FILE` and its settings, for any tool that runs stacks.
struct CaptureOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Capture a port's packets (both directions) to a pcapng FILE.", valueName: "PORT:FILE"))
    var capture: String?

    @Option(name: .customLong("capture-snaplen"), help: "Keep at most this many bytes of each captured packet.")
    var snapLength: Int = CaptureConfiguration.defaultSnapLength

    @Option(name: .customLong("capture-count"), help: "Stop capturing after this many packets.")
    var count: Int?

    @Option(name: .customLong("capture-filter"),
            help: "Capture only packets passing FILTER: host A.B.C.D, port N (either with src/dst), tcp, udp, icmp, arp, ip; and, or, not, ( ).")
    var filter: String?

    func validate() throws {
        guard let capture else {
            if filter != nil || count != nil { throw ValidationError("--capture-filter and --capture-count need --capture PORT:FILE") }
            return
        }
        guard CaptureTarget(capture) != nil else { throw ValidationError("--capture '\(capture)': expected \(CaptureTarget.expected)") }
        do {
            _ = try configuration(ports: nil)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func configuration(ports: Set<Int>?) throws -> CaptureConfiguration {
        let parsed: CaptureFilter
        do {
            parsed = try CaptureFilter(parsing: filter ?? "")
        } catch {
            throw ValidationError("--capture-filter: \(error)")
        }
        let configuration = CaptureConfiguration(ports: ports, snapLength: snapLength, packetLimit: count, filter: parsed)
        if let message = configuration.validationError() { throw ValidationError("--capture: \(message)") }
        return configuration
    }

    /// Starts the capture on the process's ports (named by their labels), or nil without --capture.
    func start(portNames: [String]) throws -> CaptureSession? {
        guard let capture, let target = CaptureTarget(capture) else { return nil }
        let (ports, ok) = target.resolve(names: portNames)
        guard ok else {
            throw ValidationError("--capture '\(capture)': no port '\(target.port)' (ports: "
                                  + portNames.enumerated().map { "\($0) \($1)" }.joined(separator: ", ") + ")")
        }
        return try CaptureSession(configuration: configuration(ports: ports), portNames: portNames, path: target.file)
    }
}
