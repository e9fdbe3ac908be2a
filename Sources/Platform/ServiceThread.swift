#if canImport(Glibc)
import Glibc
#endif

/// A plain, unpinned thread for service work beside the cores (a capture
/// file's writer, the telemetry listener): it must never take a core's CPU
/// time on purpose, so it is not pinned and has no core identity.
public struct ServiceThread: @unchecked Sendable {
    private let thread: pthread_t

    /// Starts `body` on a new thread; `name` says what it is in errors.
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(PlatformError) {
        let box = Unmanaged.passRetained(ServiceStart(body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let start = Unmanaged<ServiceStart>.fromOpaque(argument!).takeRetainedValue()
            start.body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<ServiceStart>.fromOpaque(box).release()
            throw .systemCall("pthread_create for \(name)", errno: result)
        }
        self.thread = thread
    }

    /// Waits for the body to return (once, by one thread).
    public func join() {
        pthread_join(thread, nil)
    }

    /// Lets the thread run on without anyone joining it.
    public func detach() {
        pthread_detach(thread)
    }
}

private final class ServiceStart {
    let body: @Sendable () -> Void
    init(body: @escaping @Sendable () -> Void) { self.body = body }
}
