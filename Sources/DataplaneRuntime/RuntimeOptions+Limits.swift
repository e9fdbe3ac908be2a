import Glibc
import Sockets
import Stack
import TCP

/// The table limits dp_init takes (nil: the library's default). Tables grow
/// as they are used, up to these; nothing is reserved per socket.
struct RuntimeLimits {
    /// --max-sockets N: sockets per core (socket() fails with EMFILE beyond).
    var socketsPerCore: Int?
    /// --max-sockets-total N: sockets of all cores (ENFILE beyond).
    var socketsTotal: Int?
    /// --max-time-wait N: TIME-WAIT entries per core (the oldest goes first).
    var timeWaitEntries: Int?
    /// --max-udp-endpoints N: bound UDP sockets per core (EMFILE at bind beyond).
    var udpEndpoints: Int?
    /// --tcp-buffer-mib N: bytes of TCP ring chunks per core (windows shrink,
    /// sends return EAGAIN beyond).
    var tcpBufferMiB: Int?

    static let flags: Set<String> = ["--max-sockets", "--max-sockets-total", "--max-time-wait", "--max-udp-endpoints",
                                     "--tcp-buffer-mib"]

    mutating func parse(_ flag: String, _ text: String) throws(RuntimeOptions.Failure) {
        guard let number = Int(text), number > 0 else {
            throw RuntimeOptions.Failure(errno: EINVAL, message: "\(flag) '\(text)': expected a positive number")
        }
        switch flag {
        case "--max-sockets":
            guard number <= SocketDescriptor.slotsPerCore else {
                throw RuntimeOptions.Failure(errno: EINVAL, message: "--max-sockets \(number): at most \(SocketDescriptor.slotsPerCore) per core")
            }
            socketsPerCore = number
        case "--max-sockets-total": socketsTotal = number
        case "--max-time-wait": timeWaitEntries = number
        case "--max-udp-endpoints": udpEndpoints = number
        default: tcpBufferMiB = number
        }
    }

    func apply(to configuration: inout SocketCoreConfiguration) {
        if let socketsPerCore { configuration.maximumSockets = socketsPerCore }
    }

    func apply(to limits: inout StackLimits) {
        if let udpEndpoints { limits.udpEndpoints = udpEndpoints }
    }

    func apply(to tcp: inout TCPConfiguration) {
        if let timeWaitEntries { tcp.maximumTimeWaitEntries = timeWaitEntries }
        if let tcpBufferMiB { tcp.bufferBudgetBytes = tcpBufferMiB << 20 }
    }

    /// The group of the runtime's cores (ENFILE at its limit).
    func makeGroup() -> SocketGroup {
        socketsTotal.map { SocketGroup(socketLimit: $0) } ?? SocketGroup()
    }
}
