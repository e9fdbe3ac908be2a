import Capture
import Glibc
import Stack

extension DataplaneTelemetry {
    /// `/capture/start port=P [snaplen=N] [count=N] [file=PATH] [filter=...]`
    /// with the output descriptor passed over the socket (dp-dumpcap), or
    /// `file=` for a path the process opens; `/capture/status`; `/capture/stop`.
    func addCaptureCommands() {
        router.add("/capture/start", help: "start a capture: port=P|all snaplen=N count=N filter=... (a descriptor passed with SCM_RIGHTS, or file=PATH)") {
            [self] request throws(TelemetryFailure) in
            try startCapture(request)
        }
        router.add("/capture/status", help: "the capture started here: packets, drops, bytes, finished") { [self] _ throws(TelemetryFailure) in
            guard let session = remoteCapture.withLock({ $0 }) else { throw TelemetryFailure("no capture was started through telemetry") }
            return Self.json(session.summary, session: session)
        }
        router.add("/capture/stop", help: "stop the capture started here and complete its file") { [self] _ throws(TelemetryFailure) in
            guard let session = remoteCapture.withLock({ $0 }) else { throw TelemetryFailure("no capture was started through telemetry") }
            session.stop()
            // The cores let go at their next poll turn; the writer then finishes (bounded to about a second).
            let deadline = ContinuousClock.now + .seconds(3)
            while !session.isFinished && ContinuousClock.now < deadline {
                var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
                nanosleep(&pause, nil)
            }
            return Self.json(session.summary, session: session)
        }
    }

    private func startCapture(_ request: TelemetryRequest) throws(TelemetryFailure) -> JSONValue {
        if let running = remoteCapture.withLock({ $0 }), !running.isFinished {
            throw TelemetryFailure("a capture is running (\(running)): stop it first with /capture/stop")
        }
        let stacks = coreStacks()
        guard !stacks.isEmpty else { throw TelemetryFailure("no core is running: nothing to capture") }
        let names = ports.map(\.label)
        guard let portText = request.arguments["port"] else { throw TelemetryFailure("give port=INDEX, port=NAME or port=all") }
        let target = CaptureTarget("\(portText):-")!
        let (selected, ok) = target.resolve(names: names)
        guard ok else { throw TelemetryFailure("no port '\(portText)' (ports: \(names.enumerated().map { "\($0) \($1)" }.joined(separator: ", ")))") }
        let filter: CaptureFilter
        do {
            filter = try CaptureFilter(parsing: request.arguments["filter"] ?? "")
        } catch {
            throw TelemetryFailure("\(error)")
        }
        let configuration = CaptureConfiguration(ports: selected, snapLength: try request.integer("snaplen") ?? CaptureConfiguration.defaultSnapLength,
                                                 packetLimit: try request.integer("count"), filter: filter)
        if let message = configuration.validationError() { throw TelemetryFailure(message) }
        let session: CaptureSession
        do {
            if let descriptor = request.descriptor {
                session = try CaptureSession(configuration: configuration, portNames: names, descriptor: descriptor,
                                             closesDescriptor: true, destination: "the client's descriptor")
            } else if let file = request.arguments["file"] {
                session = try CaptureSession(configuration: configuration, portNames: names, path: file)
            } else {
                throw CaptureError("give an output: a descriptor passed with the command (dp-dumpcap does), or file=PATH")
            }
        } catch {
            // A descriptor the session did not take is closed by the server.
            throw TelemetryFailure("\(error)")
        }
        // Each core attaches its own recorder on its own thread, between bursts.
        var busy: [Int] = []
        for (index, box) in stacks {
            let attached = box.ask(timeout: coreTimeout) { stack -> Bool in
                guard stack.capture == nil else { return false }
                stack.capture = session.makeCore()
                return true
            }
            if attached == false { busy.append(index) }
        }
        if !busy.isEmpty {
            session.stop()
            session.wait()
            return ["error": .string("core(s) \(busy.map(String.init).joined(separator: ", ")) already capture (--capture): one capture at a time"),
                    "descriptorTaken": true]
        }
        remoteCapture.withLock { $0 = session }
        return ["started": true, "descriptorTaken": .bool(request.descriptor != nil), "capture": .string(session.description)]
    }

    static func json(_ summary: CaptureSummary, session: CaptureSession) -> JSONValue {
        ["capture": .string(session.description), "packets": .number(summary.packets), "dropped": .number(summary.dropped),
         "bytes": .number(summary.bytes), "finished": .bool(summary.finished), "error": summary.error.map { .string($0) } ?? .null]
    }
}
