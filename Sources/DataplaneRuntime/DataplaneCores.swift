import Sockets

/// The runtime of `dp_init`/`dp_run` for Swift programs: one port (tap,
/// PCI or loopback) served by N cores, each with its own stack and socket
/// table (`--cores N`: device RSS queues or software RSS, see
/// Docs/ARCHITECTURE.md "Cores"). `run` calls the application's turn on
/// every core, on that core's thread, after each poll step.
///
///     let dataplane = try DataplaneCores(arguments: ["--tap", "dp0", "--ip", "10.0.0.2/24", "--cores", "2"])
///     try dataplane.run { core, sockets in
///         // open this core's sockets on the first turn (SO_REUSEPORT), serve them
///         return true   // false stops every core
///     }
public final class DataplaneCores: @unchecked Sendable {
    let runtime: DataplaneRuntime

    /// Why the arguments or the port were refused, with the errno dp_init sets.
    public struct Failure: Error, CustomStringConvertible {
        public var errno: Int32
        public var description: String
    }

    /// Takes dp_init's flags (`--tap NAME | --pci ADDR | --loopback`,
    /// `--ip A.B.C.D/P`, `--cores N`, ...) and brings the port up.
    public init(arguments: [String]) throws {
        let options: RuntimeOptions
        do {
            options = try RuntimeOptions.parse(arguments)
        } catch {
            throw Failure(errno: error.errno, description: error.message)
        }
        runtime = try DataplaneRuntime(options: options)
    }

    /// Cores that `run` starts.
    public var coreCount: Int { runtime.options.cores }

    /// Runs every core until a turn returns false (on any core) or `stop()`.
    /// `turn` gets the core's index (0..<coreCount) and its socket table.
    public func run(_ turn: @escaping (_ core: Int, _ sockets: SocketCore) -> Bool) throws {
        DataplaneRuntime.stopRequested.store(false, ordering: .releasing)
        let runtime = self.runtime
        try runtime.run(CoreWork(runtime: runtime) { index in turn(index, runtime.cores[index]) })
    }

    /// Makes every core stop after its current turn (async-signal-safe).
    public static func stop() { dp_stop() }
}
