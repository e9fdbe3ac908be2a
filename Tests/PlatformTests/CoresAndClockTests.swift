import Foundation
import Synchronization
import Testing
@testable import Platform

@Suite("Cores and clock")
struct CoresAndClockTests {
    @Test("launched cores run pinned with their own index")
    func launchPinnedCores() throws {
        let cpus = Cores.availableCPUs()
        #expect(!cpus.isEmpty)
        let seen = Mutex<[Int: Int]>([:])
        let group = try Cores.launch(on: Array(cpus.prefix(2))) { core in
            let index = Core.current
            seen.withLock { $0[core.index] = index }
        }
        group.wait()
        let result = seen.withLock { $0 }
        #expect(result.count == min(2, cpus.count))
        for (index, reported) in result { #expect(reported == index) }
        #expect(Core.current == nil, "the test thread is not a core")
    }

    @Test("a CPU outside the affinity set is refused")
    func unavailableCPU() {
        #expect(throws: PlatformError.self) { _ = try Cores.launch(on: [4095]) { _ in } }
        #expect(throws: PlatformError.self) { _ = try Cores.launch(on: []) { _ in } }
        #expect(throws: PlatformError.self) { try Cores.adoptCurrentThread(asCore: -1) }
    }

    @Test("a control thread moves off the cores' CPUs, and stays put when there is nowhere else")
    func controlThreadOffCores() throws {
        let cpus = Cores.availableCPUs()
        // On a thread of its own (it inherits this thread's mask): the test
        // runner's threads keep theirs.
        let seen = Mutex<(off: [Int], after: [Int], afterAll: [Int])?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let off = (try? Cores.keepCallerOff([cpus.last!])) ?? []
            let after = Cores.availableCPUs()
            _ = try? Cores.keepCallerOff(after)
            seen.withLock { $0 = (off, after, Cores.availableCPUs()) }
            done.signal()
        }
        done.wait()
        let result = try #require(seen.withLock { $0 })
        if cpus.count > 1 {
            #expect(result.off == Array(cpus.dropLast()) && result.after == result.off, "the last CPU is left to the core")
        } else {
            #expect(result.after == cpus, "a single CPU stays the caller's")
        }
        #expect(result.afterAll == result.after, "no other CPU: the mask is unchanged")
    }

    @Test("the TSC clock is calibrated and monotonic")
    func clock() {
        let clock = TSCClock.shared
        #expect(clock.cyclesPerSecond > 100_000_000, "a TSC below 100 MHz is implausible")
        let a = TSCClock.cycles()
        let b = TSCClock.cycles()
        #expect(b >= a)
        #expect(clock.nanoseconds(fromCycles: clock.cyclesPerSecond) == 1_000_000_000)
        #expect(clock.cycles(fromNanoseconds: 1_000_000_000) == clock.cyclesPerSecond)
    }
}
