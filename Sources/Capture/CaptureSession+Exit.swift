import Glibc
import Synchronization

extension CaptureSession {
    private static let completedAtExit = Mutex<[CaptureSession]>([])
    private static let exitHandlerInstalled = Mutex<Bool>(false)
    /// The process that registered: a child made by fork() has no writer
    /// thread, and must neither wait for it nor touch the file at its exit.
    nonisolated(unsafe) private static var registeringProcess: pid_t = 0

    /// Completes this capture's file when the process calls exit() (C
    /// programs end that way, with cores that never return): the last batch
    /// and the statistics blocks are written, the file closed.
    public func completeAtExit() {
        Self.completedAtExit.withLock { $0.append(self) }
        let install = Self.exitHandlerInstalled.withLock { installed in
            defer { installed = true }
            return !installed
        }
        if install {
            Self.registeringProcess = getpid()
            atexit {
                guard getpid() == CaptureSession.registeringProcess else { return }
                for session in CaptureSession.completedAtExit.withLock({ $0 }) where !session.isFinished {
                    session.stopAfterCoresEnded()
                    session.wait()
                }
            }
        }
    }
}
