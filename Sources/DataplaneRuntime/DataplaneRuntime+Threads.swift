import Atomics
import Glibc
import Packets
import Platform
import Sockets

/// The runtime without dp_run: the application's own threads drive the
/// cores (the LD_PRELOAD library, where an unmodified program never calls
/// dp_run). `startForApplicationThreads` makes and starts every core; each
/// of the first N threads that touches a socket claims the next core and
/// from then on runs it inside its own calls (run to completion: the stack
/// moves while the thread waits in epoll_wait, poll, accept, recv, ...).
extension DataplaneRuntime {
    /// Makes and starts the cores (once).
    func startForApplicationThreads() throws {
        guard cores.isEmpty else { return }
        cores = try makeCores()
        for (index, core) in cores.enumerated() {
            Self.coreIDs[index].store(core.coreID, ordering: .releasing)
            core.stack.start()
            // Answered while the claiming thread runs the core (inside its socket calls).
            telemetry?.setCore(index, core.stack)
        }
    }

    /// The calling thread's core, claimed on its first call: nil (with a
    /// message once) when every core is taken by another thread.
    func claimCore() -> SocketCore? {
        // A claimed thread carries its core's index (Core.current, which the
        // pool's per-core cache also reads).
        if let current = Core.current, current < cores.count, cores[current].isOnOwnerThread {
            return cores[current]
        }
        let index = nextClaim.loadThenWrappingIncrement(ordering: .acquiringAndReleasing)
        guard index < cores.count else {
            if index == cores.count {
                report("a thread beyond the \(cores.count) core(s) of --cores touched a socket: its calls get EPERM (one application thread per core)\n")
            }
            return nil
        }
        let core = cores[index]
        core.adoptCurrentThread()
        try? Cores.adoptCurrentThread(asCore: index)
        if index == 0, reflector != nil {
            // --loopback: what core 0 sends comes back while it runs.
            let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
            core.whileBlocked = { [unowned self] in self.reflect(burst) }
        }
        return core
    }

    /// Sends what every core has queued (at exit).
    func flushAll() {
        for core in cores where core.isOnOwnerThread { core.stack.flush() }
    }
}
