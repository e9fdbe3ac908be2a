import Stack

/// Who may bind ports below 1024.
public enum PrivilegedPortPolicy: Sendable, Equatable {
    /// As the kernel: only with CAP_NET_BIND_SERVICE in the effective set.
    case capability
    /// Everyone (a core that owns its NIC decides for itself).
    case allowed
    /// No one (tests running as root use this to see EACCES).
    case denied
}

/// The bounds and policies of one core's socket table.
public struct SocketCoreConfiguration: Sendable {
    /// Open sockets on this core (EMFILE beyond). The table grows as
    /// sockets open, up to this; nothing is reserved per socket (buffer
    /// memory is charged as data is queued: `TCPConfiguration.bufferBudgetBytes`).
    public var maximumSockets = SocketDescriptor.slotsPerCore
    public var defaultReceiveBufferSize = 256 * 1024
    public var defaultSendBufferSize = 256 * 1024
    /// Largest SO_RCVBUF / SO_SNDBUF accepted (larger values are clamped, as Linux's rmem_max).
    public var maximumBufferSize = 16 << 20
    public var privilegedPorts = PrivilegedPortPolicy.capability
    /// Sleep this long in a blocking call's loop when a poll step found
    /// nothing (0 spins, as a poll-mode core does).
    public var idleSleepMicroseconds: UInt32 = 0
    /// How the core idles (CoreIdle): nil naps idleSleepMicroseconds after
    /// each empty step (0: polls), as before `--idle` existed.
    public var idle: IdlePolicy?
    /// The policy in force.
    public var idlePolicy: IdlePolicy {
        idle ?? IdlePolicy(mode: idleSleepMicroseconds > 0 ? .sleep : .poll, sleepMicroseconds: idleSleepMicroseconds, spinMicroseconds: 0)
    }
    /// Largest listen backlog (as net.core.somaxconn).
    public var maximumBacklog = 4096
    /// Raise SIGPIPE when send fails with EPIPE and MSG_NOSIGNAL is not given (as the kernel does).
    public var raisesSIGPIPE = true

    public init() {}
}
