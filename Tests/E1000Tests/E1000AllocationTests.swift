import CPlatform
import E1000
import MallocInterposerSwift
import NetDevice
import Packets
import TestSupport
import Testing

/// Allocations made on the measuring thread only: other tests run in
/// parallel in this process, so the hook counts by the thread's core index.
nonisolated(unsafe) private var allocationsOnMeasuringThread = 0
nonisolated(unsafe) private var countingOnThisThread = false
private let measuringCore: Int32 = 126

@Suite("e1000 steady state allocates nothing", .serialized)
struct E1000AllocationTests {
    @Test func forwardingThroughTheModelMakesNoAllocationPerPacket() throws {
        let fixture = try E1000Fixture(ringSize: 256, poolCapacity: 2048)
        fixture.model.keepTransmittedFrames = false
        fixture.model.keepTransmitCommands = false
        fixture.model.logWrites = false
        fixture.model.deferTransmit = true
        let frame = Frames.ethernet(length: 64)
        let frameBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count, alignment: 8)
        defer { frameBytes.deallocate() }
        frameBytes.copyBytes(from: frame)
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: 32)
        defer { burst.deallocate() }

        let previousCore = dp_current_core()
        dp_set_current_core(measuringCore)
        defer { dp_set_current_core(previousCore) }

        // Receive a burst and send it back (io forwarding). Only the
        // driver's calls are counted; the model's work is left out.
        func forward(rounds: Int) -> Int {
            var packets = 0
            for _ in 0..<rounds {
                for _ in 0..<32 { fixture.model.deliver(UnsafeRawBufferPointer(frameBytes)) }
                countingOnThisThread = true
                let n = fixture.device.receive(queue: 0, into: burst)
                let sent = fixture.device.transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: burst[0..<n]))
                if sent < n { PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[sent..<n])) }
                countingOnThisThread = false
                fixture.model.runTransmit()
                packets += n
            }
            return packets
        }
        _ = forward(rounds: 200)  // warm up: caches, model buffers

        let (packets, allocations, control, controlAllocations) = MallocHookLock.withLock {
            MallocInterposerSwift.initialize()
            MallocInterposerSwift.setAllocationHook { _ in
                if countingOnThisThread && dp_current_core() == measuringCore { allocationsOnMeasuringThread += 1 }
            }
            allocationsOnMeasuringThread = 0
            MallocInterposerSwift.hook()
            let packets = forward(rounds: 1000)
            let allocations = allocationsOnMeasuringThread
            // Control: the hook does see an allocation made on this thread.
            countingOnThisThread = true
            let control = [Int](repeating: packets, count: 64 + packets % 2)
            countingOnThisThread = false
            let controlAllocations = allocationsOnMeasuringThread - allocations
            MallocInterposerSwift.unhook()
            MallocInterposerSwift.setAllocationHook(nil)
            return (packets, allocations, control, controlAllocations)
        }
        #expect(control.count >= 64)
        #expect(controlAllocations >= 1, "the malloc hook counted nothing: the measurement would be blind")
        print("e1000 model io forwarding: \(packets) packets, \(allocations) mallocs on the forwarding thread")
        #expect(packets == 32_000)
        #expect(fixture.model.transmittedCount >= 32_000)
        #expect(allocations == 0)
    }
}
