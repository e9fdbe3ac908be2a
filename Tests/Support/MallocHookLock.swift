import Glibc

/// The malloc interposer's hook is one per process, and test suites of
/// different targets run in parallel in one process: a suite that hooks,
/// counts and unhooks holds this lock, so another suite's unhook cannot
/// blind its count (E1000AllocationTests' control saw 0 mallocs once).
public enum MallocHookLock {
    nonisolated(unsafe) private static var mutex = pthread_mutex_t()

    public static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
