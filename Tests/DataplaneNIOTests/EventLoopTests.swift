import DataplaneNIO
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// An actor whose executor is a data-plane loop.
actor OnLoop {
    nonisolated let loop: DataplaneEventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    var count = 0

    init(loop: DataplaneEventLoop) { self.loop = loop }

    func bump() -> (Int, Bool) {
        count += 1
        return (count, loop.inEventLoop)
    }
}

@Suite("Data-plane event loops")
struct EventLoopTests {
    @Test func executeAndSubmitRunOnTheLoopThread() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        #expect(!loops.a.inEventLoop)
        let onLoop = try loops.a.submit { loops.a.inEventLoop && !loops.b.inEventLoop }.wait()
        #expect(onLoop)
        // Many tasks from another thread arrive in order.
        let seen = NIOLockedValueBox<[Int]>([])
        let futures = (0..<1000).map { i in loops.b.submit { seen.withLockedValue { $0.append(i) } } }
        try EventLoopFuture.andAllSucceed(futures, on: loops.b).wait()
        #expect(seen.withLockedValue { $0 } == Array(0..<1000))
    }

    @Test func scheduledTasksRunInDeadlineOrderAndCancel() throws {
        let loops = try TwoLoops()
        defer { try? loops.shutdown() }
        let order = NIOLockedValueBox<[Int]>([])
        let start = NIODeadline.now()
        let late = loops.a.scheduleTask(in: .milliseconds(60)) { order.withLockedValue { $0.append(2) } }
        let early = loops.a.scheduleTask(in: .milliseconds(20)) { order.withLockedValue { $0.append(1) } }
        let cancelled = loops.a.scheduleTask(in: .milliseconds(40)) { order.withLockedValue { $0.append(99) } }
        cancelled.cancel()
        try early.futureResult.wait()
        try late.futureResult.wait()
        #expect(NIODeadline.now() - start >= .milliseconds(60))
        #expect(order.withLockedValue { $0 } == [1, 2])
        #expect(throws: EventLoopError.cancelled) { try cancelled.futureResult.wait() }
    }

    @Test func anActorRunsOnTheLoop() async throws {
        let loops = try TwoLoops()
        let actor = OnLoop(loop: loops.b)
        for _ in 0..<100 { _ = await actor.bump() }
        let (count, onLoop) = await actor.bump()
        #expect(count == 101)
        #expect(onLoop)
        try await loops.group.shutdownGracefully()
    }

    /// SE-0417: a task that prefers a loop runs its nonisolated code on the
    /// loop's thread, before and after a suspension, and so do its children.
    @Test func aTaskPreferringALoopRunsOnIt() async throws {
        let loops = try TwoLoops()
        let (first, afterSleep, child) = await Task(executorPreference: loops.b) {
            let first = loops.b.inEventLoop
            try? await Task.sleep(for: .milliseconds(5))  // resumes through the executor
            let afterSleep = loops.b.inEventLoop
            let child = await withTaskGroup(of: Bool.self) { group in
                group.addTask { loops.b.inEventLoop }
                return await group.next()!
            }
            return (first, afterSleep, child)
        }.value
        #expect(first && afterSleep && child)
        let onA = await withTaskExecutorPreference(loops.a) { loops.a.inEventLoop && !loops.b.inEventLoop }
        #expect(onA)
        #expect(!loops.a.inEventLoop)
        try await loops.group.shutdownGracefully()
    }

    @Test func shutdownFailsPendingTimersAndStopsTheThreads() throws {
        let loops = try TwoLoops()
        let pending = loops.a.scheduleTask(in: .hours(1)) {}
        try loops.shutdown()
        #expect(throws: EventLoopError.shutdown) { try pending.futureResult.wait() }
        let after = loops.a.scheduleTask(in: .milliseconds(1)) {}
        #expect(throws: EventLoopError.shutdown) { try after.futureResult.wait() }
    }
}
