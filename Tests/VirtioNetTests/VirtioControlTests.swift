import NetDevice
import Packets
import Testing
import Wire
@testable import VirtioNet

@Suite("virtio-net control queue, multiqueue and link over the software device model")
struct VirtioControlTests {
    @Test func promiscuousAllMulticastAndMACGoThroughTheControlQueue() throws {
        let harness = try VirtioTestHarness()
        // Start applied the configuration's promiscuous setting (off).
        #expect(harness.model.promiscuous == false)
        try harness.port.setPromiscuous(true)
        #expect(harness.model.promiscuous)
        try harness.port.setAllMulticast(true)
        #expect(harness.model.allMulticast)
        let address = MACAddress(0x02, 0x11, 0x22, 0x33, 0x44, 0x55)
        try harness.port.setMACAddress(address)
        #expect(harness.model.setup.mac == [0x02, 0x11, 0x22, 0x33, 0x44, 0x55])
        #expect(harness.port.macAddress == address)
    }

    @Test func controlFeaturesAreTakenOneByOne() throws {
        // QEMU's default: a control queue with CTRL_RX but without MQ.
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.remove(.multiqueue)
        let harness = try VirtioTestHarness(setup)
        #expect(harness.model.driverFeatures.contains([.ctrlVQ, .ctrlRx, .ctrlMACAddress]))
        #expect(!harness.model.driverFeatures.contains(.multiqueue))
        try harness.port.setPromiscuous(true)
        #expect(harness.model.promiscuous)
    }

    @Test func settingsMadeBeforeStartAreAppliedAtStart() throws {
        let harness = try VirtioTestHarness(start: false)
        try harness.port.setPromiscuous(true)
        try harness.port.setAllMulticast(true)
        try harness.port.start()
        #expect(harness.model.promiscuous)
        #expect(harness.model.allMulticast)
    }

    @Test func withoutAControlQueueTheCommandsAreUnsupported() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.subtract([.ctrlVQ, .ctrlRx, .ctrlMACAddress, .multiqueue])
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.info.maximumReceiveQueues == 1)
        #expect(harness.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_CTRL_VQ: not offered") })
        #expect(throws: DeviceError.self) { try harness.port.setPromiscuous(false) }
        #expect(throws: DeviceError.self) { try harness.port.setMACAddress(.broadcast) }
    }

    @Test func aCommandTheDeviceRejectsIsAnError() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.maxPairs = 2
        let harness = try VirtioTestHarness(setup, queues: 2)
        #expect(harness.model.activePairs == 2)
        // Asking the model for more pairs than it has is refused (VIRTIO_NET_ERR).
        #expect {
            try harness.port.sendControl(.multiqueue, 0, payload: [3, 0])
        } throws: { error in
            (error as! DeviceError).description.contains("VIRTIO_NET_ERR")
        }
    }

    @Test func anUnansweredCommandTimesOutAndBlocksTheQueueWithoutATrap() throws {
        let harness = try VirtioTestHarness(options: VirtioNetOptions(controlTimeout: .milliseconds(50)))
        harness.model.answersControl = false
        #expect {
            try harness.port.setPromiscuous(true)
        } throws: { error in
            (error as! DeviceError).kind == .timedOut
        }
        // The chain is still the device's: a second command cannot reuse it.
        #expect {
            try harness.port.setAllMulticast(true)
        } throws: { error in
            (error as! DeviceError).description.contains("unanswered")
        }
        // A restart resets the device and the control queue with it.
        harness.port.stop()
        harness.model.answersControl = true
        try harness.port.start()
        try harness.port.setAllMulticast(true)
        #expect(harness.model.allMulticast)
    }

    @Test func multiqueueSetsThePairsAndEveryQueueCarriesTraffic() throws {
        let harness = try VirtioTestHarness(queues: 2)
        let model = harness.model
        #expect(model.activePairs == 2)
        #expect(model.controlCommands.contains { $0.0 == 4 && $0.2 == [2, 0] })
        // Control queue after all 4 possible pairs: index 8.
        #expect(model.events.contains("queue_enable 8"))
        let frames0 = (0..<10).map { makeTestFrame(100, seed: $0) }
        let frames1 = (0..<7).map { makeTestFrame(200, seed: 50 + $0) }
        model.receive(frames0, pair: 0)
        model.receive(frames1, pair: 1)
        let received0 = harness.receiveAll(queue: 0, expected: 10)
        let received1 = harness.receiveAll(queue: 1, expected: 7)
        #expect(received0.map { $0.contents() } == frames0)
        #expect(received1.map { $0.contents() } == frames1)
        for packet in received0 + received1 { packet.free() }
        harness.send(frames1, queue: 1)
        harness.send(frames0, queue: 0)
        model.processTransmit(pair: 0)
        model.processTransmit(pair: 1)
        #expect(model.transmitted.filter { $0.queue == 3 }.map(\.frame) == frames1)
        #expect(model.transmitted.filter { $0.queue == 1 }.map(\.frame) == frames0)
        #expect(harness.port.receive(queue: 2, into: .allocate(capacity: 0)) == 0)
    }

    @Test func linkStatusComesFromTheDeviceConfiguration() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.linkUp = false
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.linkStatus().isUp == false)
        harness.model.setup.linkUp = true
        #expect(harness.port.linkStatus().isUp)
        #expect(harness.port.linkStatus().speedMbps == 10_000)
    }

    @Test func withoutTheStatusFeatureTheLinkIsUp() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.remove(.status)
        setup.linkUp = false
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.linkStatus().isUp)
    }

    @Test func mtuFromTheDevice() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.mtu = 1400
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.info.mtu == 1400)
        #expect(harness.port.info.maximumFrameLength == 1414)
    }
}
