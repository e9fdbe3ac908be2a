import Atomics
import DataplaneRuntime
import Foundation
import Telemetry
import Testing

@Suite("telemetry of DataplaneCores", .serialized)
struct DataplaneCoresTelemetryTests {
    @Test("a running DataplaneCores answers on its socket; the socket goes with it")
    func answers() throws {
        let name = "cores-test-\(getpid())"
        var dataplane: DataplaneCores? = try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.0.1/24", "--cores", "2",
                                                                        "--telemetry-name", name])
        let done = ManagedAtomic<Bool>(false)
        let reply = ReplyBox()
        let asker = Thread {
            defer { done.store(true, ordering: .releasing) }
            guard let client = try? TelemetryClient(name: name) else { return }
            // The cores register when run() starts them.
            for _ in 0..<500 {
                if (try? client.request("/info"))?.contains("\"cores\":2") == true { break }
                usleep(10_000)
            }
            reply.text = try? client.request("/cores")
        }
        let deadline = Date().addingTimeInterval(20)
        asker.start()
        try dataplane!.run { _, _ in !done.load(ordering: .acquiring) && Date() < deadline }
        let cores = try #require(try JSONSerialization.jsonObject(with: Data((reply.text ?? "").utf8)) as? [[String: Any]])
        #expect(cores.map { $0["core"] as? Int } == [0, 1])
        #expect(cores.allSatisfy { $0["counters"] != nil })
        dataplane = nil
        #expect(!TelemetryDirectory.names().contains(name))
    }

    @Test("--telemetry-name with a bad name and --no-telemetry")
    func flags() throws {
        #expect(throws: (any Error).self) { try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.0.1/24", "--telemetry-name", "a/b"]) }
        let before = TelemetryDirectory.names()
        let quiet = try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.0.1/24", "--no-telemetry"])
        #expect(TelemetryDirectory.names() == before)
        _ = quiet
    }
}

final class ReplyBox: @unchecked Sendable {
    var text: String?
}
