import NetDevice
import Packets
import Testing
@testable import VirtioNet

/// DeviceHealthMonitoring over the software device model: a link flap, a
/// reset under the driver, DEVICE_NEEDS_RESET and a removal
/// (VirtioNetDevice+Health.swift; the lab version is Tools/test.d/71-faults-lab.sh).
@Suite("virtio-net link, reset and removal checks")
struct VirtioHealthTests {
    @Test func linkChangesAreReadFromTheConfigSpace() throws {
        let harness = try VirtioTestHarness()
        #expect(harness.port.checkHealth() == .running(LinkStatus(isUp: true, speedMbps: 10_000)))
        harness.model.setup.linkUp = false
        harness.model.configGeneration &+= 1
        #expect(harness.port.checkHealth() == .running(LinkStatus(isUp: false)))
        harness.model.setup.linkUp = true
        harness.model.configGeneration &+= 1
        #expect(harness.port.checkHealth() == .running(LinkStatus(isUp: true, speedMbps: 10_000)))
        #expect(harness.port.statistics().extended["config_changes"] == 2)
    }

    @Test(arguments: ["reset", "needs-reset"])
    func aDeviceResetUnderTheDriverIsRecovered(_ fault: String) throws {
        let harness = try VirtioTestHarness()
        harness.model.receive((0..<5).map { makeTestFrame(64, seed: $0) })
        for packet in harness.receiveAll(expected: 5) { packet.free() }
        if fault == "reset" { harness.model.resetFromOutside() } else { harness.model.setNeedsReset() }
        guard case .recovered = harness.port.checkHealth() else {
            Issue.record("the driver did not recover from \(fault)")
            return
        }
        #expect(harness.model.status & VirtioDeviceStatus.driverOK != 0)
        #expect(harness.model.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        #expect(harness.port.statistics().extended["device_resets_recovered"] == 1)
        // The rebuilt rings carry frames both ways.
        let frames = (0..<20).map { makeTestFrame(60 + $0, seed: $0) }
        #expect(harness.model.receive(frames) == 20)
        let packets = harness.receiveAll(expected: 20)
        #expect(packets.map { $0.contents() } == frames)
        for packet in packets { packet.free() }
        #expect(harness.send([makeTestFrame(100, seed: 9)]) == 1)
        #expect(harness.model.processTransmit() == 1)
        #expect(harness.port.checkHealth() == .running(LinkStatus(isUp: true, speedMbps: 10_000)))
        harness.port.stop()
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func aRemovedDeviceIsGivenUpAndItsBuffersFreed() throws {
        let harness = try VirtioTestHarness()
        harness.model.removed = true
        guard case .removed = harness.port.checkHealth() else {
            Issue.record("all-ones registers were not taken as a removal")
            return
        }
        #expect(harness.port.linkStatus().isUp == false)
        #expect(harness.pool.statistics.available == harness.pool.capacity)
        #expect(harness.receiveAll(expected: 1).isEmpty)
        #expect(harness.send([makeTestFrame(64, seed: 1)]) == 0)
        // Later checks say the same, without touching the device.
        guard case .removed = harness.port.checkHealth() else {
            Issue.record("a removed port came back")
            return
        }
    }
}
