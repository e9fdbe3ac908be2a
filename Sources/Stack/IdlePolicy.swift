/// What a core does when its queues stay empty (`--idle`; Docs/OPERATIONS.md "Idle").
public struct IdlePolicy: Sendable, Equatable, CustomStringConvertible {
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Never sleeps: lowest latency, a whole CPU per core.
        case poll
        /// Sleeps `sleepMicroseconds` between polls once quiet.
        case sleep
        /// Arms the queues' receive interrupts and sleeps in epoll until a
        /// frame, a wake-up (telemetry, dp_interrupt) or a timer; a core
        /// with a queue that has no interrupt sleeps instead.
        case interrupt
    }

    public var mode: Mode
    /// The nap of `sleep` mode (and of `interrupt` mode on a queue without an interrupt).
    public var sleepMicroseconds: UInt32
    /// How long a core keeps polling after the last poll that found work
    /// before it naps or arms its interrupts, so the steps of one exchange
    /// never wait on a sleep.
    public var spinMicroseconds: UInt64

    public init(mode: Mode = .sleep, sleepMicroseconds: UInt32 = 20, spinMicroseconds: UInt64 = 2000) {
        self.mode = mode
        self.sleepMicroseconds = sleepMicroseconds
        self.spinMicroseconds = spinMicroseconds
    }

    /// "poll", "sleep" or "interrupt".
    public init?(mode text: String, sleepMicroseconds: UInt32 = 20, spinMicroseconds: UInt64 = 2000) {
        guard let mode = Mode(rawValue: text) else { return nil }
        self.init(mode: mode, sleepMicroseconds: sleepMicroseconds, spinMicroseconds: spinMicroseconds)
    }

    public var description: String {
        switch mode {
        case .poll: "poll"
        case .sleep: "sleep \(sleepMicroseconds) us after \(spinMicroseconds) us quiet"
        case .interrupt: "interrupt after \(spinMicroseconds) us quiet"
        }
    }
}
