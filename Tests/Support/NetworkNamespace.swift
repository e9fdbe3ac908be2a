import CPlatform
import Foundation

/// A network namespace made by one test, with a unique name, deleted when
/// the value goes away (also when the test fails). All test traffic stays
/// inside it.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String

    public init(prefix: String = "dpt") throws {
        name = "\(prefix)-\(getpid())-\(UInt32.random(in: 0...0xffff_fff))"
        let result = Command.run(["ip", "netns", "add", name])
        guard result.succeeded else {
            throw NamespaceError(description: "ip netns add \(name) failed: \(result.output)")
        }
        exec(["ip", "link", "set", "lo", "up"])
    }

    deinit {
        Command.run(["ip", "netns", "delete", name])
    }

    /// Runs a command inside the namespace.
    @discardableResult
    public func exec(_ arguments: [String], timeout: Double = 30) -> Command.Result {
        Command.run(["ip", "netns", "exec", name] + arguments, timeout: timeout)
    }

    /// Runs `body` with the calling thread inside the namespace (for opening
    /// a tap there), then returns the thread to where it was.
    public func withThreadInside<T>(_ body: () throws -> T) throws -> T {
        let original = dp_netns_current()
        guard original >= 0 else { throw NamespaceError(description: "cannot open this thread's namespace: errno \(-original)") }
        defer {
            _ = dp_netns_enter_fd(original)
            close(original)
        }
        let entered = dp_netns_enter_path("/var/run/netns/\(name)")
        guard entered == 0 else { throw NamespaceError(description: "setns into \(name) failed: errno \(-entered)") }
        return try body()
    }
}

public struct NamespaceError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
