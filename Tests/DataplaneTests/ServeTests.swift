import Dataplane
import Testing

/// Per-core records the tasks of `serve` write (each core only its own slot).
final class ServeProbe: @unchecked Sendable {
    var mainOnOwnThread: [Bool?]
    var childOnOwnThread: [Bool?]
    var asyncLetOnOwnThread: [Bool?]
    var afterSleepOnOwnThread: [Bool?]

    init(cores: Int) {
        mainOnOwnThread = Array(repeating: nil, count: cores)
        childOnOwnThread = Array(repeating: nil, count: cores)
        asyncLetOnOwnThread = Array(repeating: nil, count: cores)
        afterSleepOnOwnThread = Array(repeating: nil, count: cores)
    }
}

struct ServeFailure: Error, Equatable {}

@Suite("DataplaneCores.serve")
struct ServeTests {
    @Test("serve runs main on every core's thread, a task group's children, async let and a resumed sleep stay there, and it returns once every main has")
    func everyCore() throws {
        let dataplane = try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.2.1/24", "--cores", "2", "--idle-sleep-us", "0"])
        let probe = ServeProbe(cores: 2)
        try dataplane.serve { core, sockets in
            probe.mainOnOwnThread[core] = sockets.isOnOwnerThread
            await withDiscardingTaskGroup { group in
                group.addTask { probe.childOnOwnThread[core] = sockets.isOnOwnerThread }
            }
            async let alsoOnCore = sockets.isOnOwnerThread
            probe.asyncLetOnOwnThread[core] = await alsoOnCore
            try await Task.sleep(for: .milliseconds(20))
            probe.afterSleepOnOwnThread[core] = sockets.isOnOwnerThread
        }
        #expect(probe.mainOnOwnThread == [true, true])
        #expect(probe.childOnOwnThread == [true, true])
        #expect(probe.asyncLetOnOwnThread == [true, true])
        #expect(probe.afterSleepOnOwnThread == [true, true])
    }

    @Test("an error thrown on one core stops every core, and serve rethrows it")
    func failureStopsAll() throws {
        let dataplane = try DataplaneCores(arguments: ["--loopback", "--ip", "10.6.3.1/24", "--cores", "2", "--idle-sleep-us", "0"])
        let started = ContinuousClock.now
        #expect(throws: ServeFailure.self) {
            try dataplane.serve { core, _ in
                if core == 1 { throw ServeFailure() }
                // Core 0 would run 10 s: the failure must end it long before.
                for _ in 0..<1000 { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
