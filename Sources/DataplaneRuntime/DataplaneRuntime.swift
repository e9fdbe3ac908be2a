import Atomics
import Capture
import Glibc
import NetDevice
import Packets
import Platform
import Ports
import Sockets
import Stack
import Telemetry
import Wire

/// What `dp_init` parsed: dp-echo's port and address flags.
struct RuntimeOptions {
    /// The idle policy of every core (--idle; CoreIdle).
    var idlePolicy: IdlePolicy? {
        idleMode.map { IdlePolicy(mode: $0, sleepMicroseconds: idleSleepMicroseconds, spinMicroseconds: idleSpinMicroseconds) }
    }

    var tap: String?
    var pci: String?
    var loopback = false
    var network: IPv4Network?
    /// IPv6 --ip values (ADDR/PREFIX, repeatable): IPv6 on for the port.
    var ipv6Networks: [IPv6Network] = []
    var gateway: IPv4Address?
    var mac: MACAddress?
    var mtu: Int?
    var cores = 1
    var idleSleepMicroseconds: UInt32 = 20
    /// --idle poll|sleep|interrupt (nil: sleep idleSleepMicroseconds after each empty turn, as before).
    var idleMode: IdlePolicy.Mode?
    /// --idle-spin-us: quiet time before a core naps or arms its interrupts.
    var idleSpinMicroseconds: UInt64 = 2000
    /// --log-level (else DP_LOG_LEVEL, else notice).
    var logLevel: String?
    var poolSize = 8192
    var privilegedPorts = PrivilegedPortPolicy.capability
    /// --capture PORT:FILE and its settings (RuntimeOptions+Capture.swift).
    var capture: CaptureTarget?
    var captureSnapLength = CaptureConfiguration.defaultSnapLength
    var captureCount: Int?
    var captureFilter = CaptureFilter.all
    /// --telemetry-name NAME / --no-telemetry (default: a socket named after the process and pid).
    var telemetryName: String?
    var telemetry = true
    /// --route, --arp and --route-config FILE, in order (DataplaneRuntime+Routes.swift).
    var routeCommands: [RouteCommand] = []
    /// --max-sockets and the other table limits (RuntimeOptions+Limits.swift).
    var limits = RuntimeLimits()

    struct Failure: Error {
        var errno: Int32
        var message: String
    }

    /// Parses the flags it knows; leaves the others to the application.
    static func parse(_ arguments: [String]) throws(Failure) -> RuntimeOptions {
        var options = RuntimeOptions()
        DataplaneLog.bootstrap()
        var i = 0
        func value(_ flag: String) throws(Failure) -> String {
            guard i + 1 < arguments.count else { throw Failure(errno: EINVAL, message: "\(flag) needs a value") }
            i += 1
            return arguments[i]
        }
        while i < arguments.count {
            let argument = arguments[i]
            switch argument {
            case "--tap": options.tap = try value(argument)
            case "--pci": options.pci = try value(argument)
            case "--loopback": options.loopback = true
            case "--ip":
                let text = try value(argument)
                if text.contains(":") {
                    guard text.contains("/"), let network = IPv6Network(text), !network.address.isMulticast else {
                        throw Failure(errno: EINVAL, message: "--ip '\(text)': expected an IPv6 ADDRESS/PREFIX, e.g. fd20::2/64")
                    }
                    options.ipv6Networks.append(network)
                    break
                }
                guard text.contains("/"), let network = IPv4Network(text) else {
                    throw Failure(errno: EINVAL, message: "--ip '\(text)': expected A.B.C.D/PREFIX, e.g. 10.9.0.2/24")
                }
                options.network = network
            case "--gateway":
                let text = try value(argument)
                guard let address = IPv4Address(text) else { throw Failure(errno: EINVAL, message: "--gateway '\(text)': expected A.B.C.D") }
                options.gateway = address
            case "--mac":
                let text = try value(argument)
                guard let mac = MACAddress(text), mac.isValidUnicast else {
                    throw Failure(errno: EINVAL, message: "--mac '\(text)': expected a unicast address like 02:00:00:00:00:01")
                }
                options.mac = mac
            case "--idle":
                let text = try value(argument)
                guard let mode = IdlePolicy.Mode(rawValue: text) else {
                    throw Failure(errno: EINVAL, message: "--idle '\(text)': use poll, sleep or interrupt")
                }
                options.idleMode = mode
            case "--idle-spin-us":
                let text = try value(argument)
                guard let number = UInt64(text) else { throw Failure(errno: EINVAL, message: "--idle-spin-us '\(text)': expected a number") }
                options.idleSpinMicroseconds = min(number, 10_000_000)
            case "--log-level":
                let text = try value(argument)
                guard let level = DataplaneLog.parseLevel(text) else {
                    throw Failure(errno: EINVAL, message: "--log-level '\(text)': use trace, debug, info, notice, warning, error or critical")
                }
                DataplaneLog.bootstrap()
                DataplaneLog.level = level
                options.logLevel = text
            case "--mtu", "--cores", "--idle-sleep-us", "--pool-size":
                let text = try value(argument)
                guard let number = Int(text), number >= 0 else { throw Failure(errno: EINVAL, message: "\(argument) '\(text)': expected a number") }
                switch argument {
                case "--mtu": options.mtu = number
                case "--cores": options.cores = number
                case "--idle-sleep-us": options.idleSleepMicroseconds = UInt32(min(number, 1_000_000))
                default: options.poolSize = number
                }
            case "--privileged-ports":
                switch try value(argument) {
                case "capability": options.privilegedPorts = .capability
                case "allowed": options.privilegedPorts = .allowed
                case "denied": options.privilegedPorts = .denied
                case let other: throw Failure(errno: EINVAL, message: "--privileged-ports '\(other)': use capability, allowed or denied")
                }
            case "--telemetry-name":
                let text = try value(argument)
                if let message = TelemetryDirectory.validationError(name: text) { throw Failure(errno: EINVAL, message: "--telemetry-name: \(message)") }
                options.telemetryName = text
            case "--no-telemetry": options.telemetry = false
            case "--route", "--arp", "--route-config":
                let text = try value(argument)
                var contents = ""
                if argument == "--route-config" {
                    guard let read = SystemFiles.read(text) else {
                        throw Failure(errno: ENOENT, message: "--route-config '\(text)': cannot read the file")
                    }
                    contents = read
                }
                do {
                    switch argument {
                    case "--route": options.routeCommands.append(try RouteCommand(routeFlag: text))
                    case "--arp": options.routeCommands.append(try RouteCommand(arpFlag: text))
                    default: options.routeCommands += try RouteCommand.parseFile(contents)
                    }
                } catch {
                    throw Failure(errno: EINVAL, message: "\(argument): \(error)")
                }
            case let flag where RuntimeLimits.flags.contains(flag):
                try options.limits.parse(flag, try value(argument))
            case "--capture", "--capture-snaplen", "--capture-count", "--capture-filter":
                try options.parseCapture(argument, try value(argument))
            default: break
            }
            i += 1
        }
        let ports = [options.tap != nil, options.pci != nil, options.loopback].filter { $0 }.count
        guard ports == 1 else { throw Failure(errno: EINVAL, message: "give exactly one port: --tap NAME, --pci ADDR or --loopback") }
        guard options.network != nil else { throw Failure(errno: EINVAL, message: "--ip A.B.C.D/PREFIX is required") }
        guard (1...SocketDescriptor.maximumCores).contains(options.cores) else {
            throw Failure(errno: EINVAL, message: "--cores \(options.cores): use 1...\(SocketDescriptor.maximumCores)")
        }
        if options.capture == nil && (options.captureCount != nil || options.captureFilter != .all) {
            throw Failure(errno: EINVAL, message: "--capture-count and --capture-filter need --capture PORT:FILE")
        }
        return options
    }
}

