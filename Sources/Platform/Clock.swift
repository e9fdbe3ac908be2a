import CPlatform
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time from the time-stamp counter: one `rdtsc` per reading, so
/// poll loops can check timers every iteration without a system call.
///
/// The counter's rate is calibrated once against CLOCK_MONOTONIC.
public struct TSCClock: Sendable {
    /// Counter ticks per second.
    public let cyclesPerSecond: UInt64

    /// The process-wide clock, calibrated on first use (about 20 ms).
    public static let shared = TSCClock(calibratingFor: 20_000_000)

    /// Calibrates by reading the counter and CLOCK_MONOTONIC across a sleep
    /// of `nanoseconds`.
    public init(calibratingFor nanoseconds: Int) {
        let startNanos = Self.monotonicNanoseconds()
        let startCycles = dp_rdtsc()
        var request = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        let elapsedNanos = Self.monotonicNanoseconds() - startNanos
        let elapsedCycles = dp_rdtsc() &- startCycles
        let rate = Double(elapsedCycles) / Double(max(elapsedNanos, 1)) * 1e9
        cyclesPerSecond = max(UInt64(rate), 1)
    }

    public init(cyclesPerSecond: UInt64) {
        self.cyclesPerSecond = max(cyclesPerSecond, 1)
    }

    /// The counter now.
    @inlinable public static func cycles() -> UInt64 { dp_rdtsc() }

    @inlinable
    public func nanoseconds(fromCycles cycles: UInt64) -> UInt64 {
        UInt64(Double(cycles) * 1e9 / Double(cyclesPerSecond))
    }

    @inlinable
    public func cycles(fromNanoseconds nanoseconds: UInt64) -> UInt64 {
        UInt64(Double(nanoseconds) * Double(cyclesPerSecond) / 1e9)
    }

    /// CLOCK_MONOTONIC in nanoseconds (a system call; not for per-packet use).
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
