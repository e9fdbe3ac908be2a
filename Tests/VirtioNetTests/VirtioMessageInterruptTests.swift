import NetDevice
import Testing
@testable import VirtioNet

/// An idle core's receive interrupt on the software model: MSI-X when the
/// function offers a vector per receive queue and the device takes them
/// (queue_msix_vector, virtio 1.x 4.1.4.3), nothing otherwise (the model
/// has no INTx). The lab test (suite 66) has QEMU signal the vectors.
@Suite struct VirtioMessageInterruptTests {
    @Test func eachReceiveQueueGetsItsOwnVector() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.msixVectors = 6
        let harness = try VirtioTestHarness(setup, queues: 2)
        let first = harness.port.receiveInterruptDescriptor(queue: 0)
        let second = harness.port.receiveInterruptDescriptor(queue: 1)
        #expect(harness.port.receiveInterruptKind == "msi-x")
        #expect(first != nil && second != nil && first != second)
        #expect(harness.port.receiveInterruptDescriptor(queue: 2) == nil)
        // Receive queues 0 and 1 are virtqueues 0 and 2; transmit queues stay without.
        #expect(harness.model.queues[0].vector == 0)
        #expect(harness.model.queues[2].vector == 1)
        #expect(harness.model.queues[1].vector == 0xffff)
        #expect(harness.model.queues[3].vector == 0xffff)
        #expect(harness.function.messageInterruptsMade.map(\.descriptor) == [first, second])
    }

    @Test func vectorsSurviveARestart() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.msixVectors = 3
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.receiveInterruptKind == "msi-x")
        harness.port.stop()
        #expect(harness.model.queues.allSatisfy { $0.vector == 0xffff })  // a reset forgets them
        try harness.port.start()
        // activateQueue writes the kept vector again, not NO_VECTOR.
        #expect(harness.model.queues[0].vector == 0)
    }

    @Test func noVectorsMeansNoInterrupt() throws {
        let harness = try VirtioTestHarness()  // no MSI-X table, no INTx in the model
        #expect(harness.port.receiveInterruptDescriptor(queue: 0) == nil)
        #expect(harness.port.receiveInterruptKind == "none")
    }

    @Test func aRefusedVectorIsUndone() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.msixVectors = 6
        setup.refusesVectors = true
        let harness = try VirtioTestHarness(setup, queues: 2)
        #expect(harness.port.receiveInterruptDescriptor(queue: 0) == nil)
        #expect(harness.port.receiveInterruptKind == "none")
        #expect(harness.model.queues.allSatisfy { $0.vector == 0xffff })
    }
}
