@testable import DataplaneNIO
import Testing

/// Nonisolated async work that suspends nowhere: on the generic executor.
nonisolated func addOne(_ value: Int) async -> Int { value + 1 }

/// `DataplaneEventLoop.taskExecutor` (Docs/NIO.md "Hummingbird"): a task
/// preferring it runs on the loop's thread, and calls into nonisolated
/// async code do not hop through the loop's queue (a hop each was the
/// cost of preferring the loop itself, whose jobs run isolated to it).
@Suite("The loop as a task executor alone")
struct TaskExecutorTests {
    @Test func aTaskPreferringTheLoopsTaskExecutorRunsOnItWithoutHops() async throws {
        let loops = try TwoLoops()
        let executor = loops.b.taskExecutor!
        let (onLoop, afterSleep, child, hops) = await Task(executorPreference: executor) {
            let onLoop = loops.b.inEventLoop
            try? await Task.sleep(for: .milliseconds(5))  // resumes through the executor
            let afterSleep = loops.b.inEventLoop
            let child = await withTaskGroup(of: Bool.self) { group in
                group.addTask { loops.b.inEventLoop }
                return await group.next()!
            }
            return (onLoop, afterSleep, child, await Self.hopsOf1000Calls(on: loops.b))
        }.value
        #expect(onLoop && afterSleep && child)
        #expect(hops == 0)  // 1,000 calls into nonisolated async code, no job queued
        // The loop itself as the preference: the same calls hop (its jobs run isolated to it).
        let loopHops = await Task(executorPreference: loops.b) { await Self.hopsOf1000Calls(on: loops.b) }.value
        #expect(loopHops >= 1000)
        let onA = await withTaskExecutorPreference(loops.a.taskExecutor) { loops.a.inEventLoop }
        #expect(onA)
        try await loops.group.shutdownGracefully()
    }

    /// Jobs the loop ran while this task made 1,000 nonisolated async calls.
    static func hopsOf1000Calls(on loop: DataplaneEventLoop) async -> Int {
        let before = loop.jobsRun
        var sum = 0
        for i in 0..<1000 { sum += await addOne(i) }
        precondition(sum == 500_500)
        return loop.jobsRun - before
    }
}
