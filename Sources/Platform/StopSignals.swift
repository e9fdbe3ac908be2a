#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as a flag that a poll loop checks every turn (a
/// poll-mode core never blocks, so a signal must not end it mid-burst).
public enum StopSignals {
    /// Set to 1 by SIGINT or SIGTERM once `install()` ran.
    nonisolated(unsafe) public static var requested: Int32 = 0

    /// True once SIGINT or SIGTERM arrived.
    public static var stopRequested: Bool { requested != 0 }

    /// Asks every loop that checks the flag to stop (one core telling the others).
    public static func request() { requested = 1 }

    /// Installs the handlers. A parent may have started us with these
    /// signals blocked (a test runner's thread): they are unblocked, or
    /// SIGTERM would never end the run.
    public static func install() {
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        signal(SIGINT) { _ in StopSignals.requested = 1 }
        signal(SIGTERM) { _ in StopSignals.requested = 1 }
    }
}
