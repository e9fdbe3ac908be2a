import CNuma
import CPlatform
#if canImport(Glibc)
import Glibc
#endif

/// A Dataplane core: a thread pinned to one CPU that owns its queues, its
/// stack instance and its sockets.
public struct Core: Sendable, Hashable, CustomStringConvertible {
    /// Dense index 0..<n among the cores of this process (indexes per-core
    /// caches and tables).
    public let index: Int
    /// The CPU (as the kernel numbers it) the thread is pinned to.
    public let cpu: Int
    /// The NUMA node of that CPU (0 where the system has no NUMA).
    public let numaNode: Int

    public init(index: Int, cpu: Int) {
        self.index = index
        self.cpu = cpu
        self.numaNode = Cores.numaNode(ofCPU: cpu)
    }

    /// The core the calling thread is, or nil on a thread that is not a
    /// Dataplane core.
    public static var current: Int? {
        let index = dp_current_core()
        return index >= 0 ? Int(index) : nil
    }

    public var description: String { "core \(index) (cpu \(cpu), node \(numaNode))" }
}

/// Finding CPUs and starting pinned core threads.
public enum Cores {
    /// The highest core count per-core structures are sized for.
    public static let maximumCount = 128

    /// CPUs this process may run on.
    public static func availableCPUs() -> [Int] {
        var mask = [UInt8](repeating: 0, count: 128)
        guard dp_allowed_cpus(&mask, Int32(mask.count)) == 0 else { return [0] }
        var cpus = [Int]()
        for cpu in 0..<(mask.count * 8) where mask[cpu / 8] & (1 << (cpu % 8)) != 0 {
            cpus.append(cpu)
        }
        return cpus.isEmpty ? [0] : cpus
    }

    /// The NUMA node of a CPU; 0 when libnuma reports no NUMA.
    public static func numaNode(ofCPU cpu: Int) -> Int {
        guard numa_available() >= 0 else { return 0 }
        let node = numa_node_of_cpu(Int32(cpu))
        return node >= 0 ? Int(node) : 0
    }

    /// Makes the calling thread core `index` (pinned to `cpu` when given):
    /// for the main thread of a single-core program and for tests.
    public static func adoptCurrentThread(asCore index: Int, pinnedTo cpu: Int? = nil) throws(PlatformError) {
        guard index >= 0 && index < maximumCount else {
            throw PlatformError(.invalidArgument, "core index \(index) outside 0..<\(maximumCount)")
        }
        if let cpu {
            let result = dp_pin_current_thread(Int32(cpu))
            guard result == 0 else { throw .systemCall("pin thread to cpu \(cpu)", errno: result) }
        }
        dp_set_current_core(Int32(index))
    }

    /// Keeps the calling (control) thread off `cpus`, the CPUs given to
    /// polling cores, as DPDK's EAL keeps its main lcore apart: a control
    /// thread that wakes on a polling CPU preempts that core (in the lab's
    /// TCG guest it also took host CPU from QEMU's I/O thread, Docs/VIRTIO.md
    /// "The transmit gap"). Does nothing when no other CPU is available;
    /// returns the CPUs the caller may now run on.
    @discardableResult
    public static func keepCallerOff(_ cpus: [Int]) throws(PlatformError) -> [Int] {
        let taken = Set(cpus)
        let others = availableCPUs().filter { !taken.contains($0) }
        guard !others.isEmpty else { return availableCPUs() }
        var mask = [UInt8](repeating: 0, count: 128)
        for cpu in others where cpu < mask.count * 8 { mask[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        let result = dp_pin_current_thread_to_set(mask, Int32(mask.count))
        guard result == 0 else { throw .systemCall("pin control thread to cpus \(others)", errno: result) }
        return others
    }

    /// Leaves core identity (the thread becomes an ordinary thread again).
    public static func releaseCurrentThread() {
        dp_set_current_core(-1)
    }

    /// Starts one pinned thread per CPU in `cpus`; core i runs on cpus[i]
    /// and calls `body` with its `Core`. Join with `CoreGroup.wait()`.
    public static func launch(
        on cpus: [Int], _ body: @escaping @Sendable (Core) -> Void
    ) throws(PlatformError) -> CoreGroup {
        guard !cpus.isEmpty, cpus.count <= maximumCount else {
            throw PlatformError(.invalidArgument, "\(cpus.count) cores requested: 1...\(maximumCount) are supported")
        }
        let available = Set(availableCPUs())
        for cpu in cpus where !available.contains(cpu) {
            throw PlatformError(.invalidArgument, "cpu \(cpu) is not available to this process (available: \(available.sorted()))")
        }
        var threads = [pthread_t]()
        for (index, cpu) in cpus.enumerated() {
            let core = Core(index: index, cpu: cpu)
            let box = Unmanaged.passRetained(CoreStart(core: core, body: body)).toOpaque()
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, { argument in
                let start = Unmanaged<CoreStart>.fromOpaque(argument!).takeRetainedValue()
                _ = dp_pin_current_thread(Int32(start.core.cpu))
                dp_set_current_core(Int32(start.core.index))
                start.body(start.core)
                dp_set_current_core(-1)
                return nil
            }, box)
            guard result == 0 else {
                Unmanaged<CoreStart>.fromOpaque(box).release()
                for started in threads { pthread_join(started, nil) }
                throw .systemCall("pthread_create for core \(index)", errno: result)
            }
            threads.append(thread)
        }
        return CoreGroup(threads: threads)
    }
}

private final class CoreStart {
    let core: Core
    let body: @Sendable (Core) -> Void
    init(core: Core, body: @escaping @Sendable (Core) -> Void) {
        self.core = core
        self.body = body
    }
}

/// The threads of launched cores.
public struct CoreGroup: ~Copyable {
    fileprivate let threads: [pthread_t]

    /// Waits for every core's body to return.
    public consuming func wait() {
        for thread in threads { pthread_join(thread, nil) }
    }
}
