import Glibc
import MallocInterposerSwift
import NetDevice
import Packets
import TestSupport
import Testing
@testable import VirtioNet

/// Mallocs made by the measuring thread only (other tests run in parallel
/// in the same process): the interposer's hook runs on the allocating thread.
nonisolated(unsafe) private var measuringThread: pthread_t?
nonisolated(unsafe) private var measuredMallocs = 0

private func countMallocsOnThisThread(_ body: () -> Void) -> Int {
    MallocHookLock.withLock { countMallocsHooked(body) }
}

private func countMallocsHooked(_ body: () -> Void) -> Int {
    MallocInterposerSwift.initialize()
    measuredMallocs = 0
    measuringThread = pthread_self()
    MallocInterposerSwift.setAllocationHook { _ in
        if let thread = measuringThread, pthread_equal(thread, pthread_self()) != 0 { measuredMallocs += 1 }
    }
    MallocInterposerSwift.hook()
    body()
    MallocInterposerSwift.unhook()
    MallocInterposerSwift.setAllocationHook(nil)
    measuringThread = nil
    return measuredMallocs
}

@Suite("virtio-net allocations in steady state", .serialized)
struct VirtioAllocationTests {
    @Test func theCounterSeesAnAllocation() {
        let count = countMallocsOnThisThread {
            let array = [Int](repeating: 1, count: 1000)
            withExtendedLifetime(array) {}
        }
        #expect(count >= 1)
    }

    /// Receive a burst, transmit it back (io forwarding), the device
    /// consumes and completes; the driver's calls are measured, the model's
    /// (which allocates freely) are not.
    @Test(arguments: [true, false])
    func forwardingMakesNoAllocationPerPacket(mergeable: Bool) throws {
        let harness = try VirtioTestHarness(options: VirtioNetOptions(mergeableReceiveBuffers: mergeable), dataRoom: mergeable ? 1024 : 2048)
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }
        let frames = (0..<32).map { makeTestFrame(64 + $0 * 45, seed: $0) }
        var forwarded = 0
        var mallocs = 0
        for round in 0..<200 {
            harness.model.receive(frames)
            let counted = countMallocsOnThisThread {
                let received = harness.port.receive(queue: 0, into: burst)
                let sent = harness.port.transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: burst[..<received]))
                PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[sent..<received]))
                forwarded += sent
            }
            harness.model.processTransmit()
            if round >= 10 { mallocs += counted }  // after warm-up
            harness.model.clearTransmitted()
        }
        #expect(forwarded == 200 * 32)
        #expect(mallocs == 0, "\(mallocs) mallocs in 190 bursts of 32 forwarded packets")
    }
}
