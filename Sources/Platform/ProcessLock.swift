#if canImport(Glibc)
import Glibc
#endif

/// A mutex for process-wide set-up state (never on the fast path). Platform
/// does not import Synchronization: its atomic types would make Atomics'
/// `AtomicRepresentation` and orderings ambiguous in every module above.
final class ProcessLock<State>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var state: State

    init(_ state: State) {
        self.state = state
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(&state)
    }
}
