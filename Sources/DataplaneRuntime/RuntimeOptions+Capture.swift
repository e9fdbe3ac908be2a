import Capture
import Glibc

extension RuntimeOptions {
    /// `--capture PORT:FILE`, `--capture-snaplen N`, `--capture-count N`,
    /// `--capture-filter TEXT` (one argument: quote it).
    mutating func parseCapture(_ flag: String, _ text: String) throws(Failure) {
        switch flag {
        case "--capture":
            guard let target = CaptureTarget(text) else {
                throw Failure(errno: EINVAL, message: "--capture '\(text)': expected \(CaptureTarget.expected)")
            }
            capture = target
        case "--capture-filter":
            do {
                captureFilter = try CaptureFilter(parsing: text)
            } catch {
                throw Failure(errno: EINVAL, message: "--capture-filter: \(error)")
            }
        default:
            guard let number = Int(text), number > 0 else { throw Failure(errno: EINVAL, message: "\(flag) '\(text)': expected a positive number") }
            if flag == "--capture-count" { captureCount = number } else { captureSnapLength = number }
        }
    }

    /// Starts the capture --capture asks for on ports named `portNames`, or nil.
    func startCapture(portNames: [String]) throws(Failure) -> CaptureSession? {
        guard let capture else { return nil }
        let (ports, ok) = capture.resolve(names: portNames)
        guard ok else {
            throw Failure(errno: ENODEV, message: "--capture: no port '\(capture.port)' (ports: "
                          + portNames.enumerated().map { "\($0) \($1)" }.joined(separator: ", ") + ")")
        }
        let configuration = CaptureConfiguration(ports: ports, snapLength: captureSnapLength, packetLimit: captureCount,
                                                 filter: captureFilter)
        do {
            return try CaptureSession(configuration: configuration, portNames: portNames, path: capture.file)
        } catch {
            throw Failure(errno: EINVAL, message: "--capture: \(error)")
        }
    }
}
