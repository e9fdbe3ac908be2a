import NetDevice
import Packets
import Testing
@testable import VirtioNet

@Suite("virtio-net initialisation over the software device model")
struct VirtioInitializationTests {
    @Test func probeReadsTheDeviceAndLeavesItReset() throws {
        let model = SoftwareVirtioNetDevice()
        let port = try VirtioNetDevice(function: SoftwarePCIFunction(model))
        #expect(port.macAddress.description.lowercased() == "52:54:00:12:34:56")
        #expect(port.info.driverName == "virtio-net")
        #expect(port.info.maximumReceiveQueues == 4)
        #expect(port.info.ringSizes == 8...256)
        #expect(port.info.transmitOffloads == [.txIPv4, .txIPv6, .txIPChecksum, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation])
        #expect(model.status == 0)
        #expect(model.statusWrites.first == 0)
        #expect(model.statusWrites.last == 0)
        #expect(port.info.notes.contains { $0.hasPrefix("VIRTIO_F_RING_PACKED") })
        #expect(port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_HOST_TSO4") })
        #expect(port.info.notes.first == "transport: modern")
    }

    @Test func startFollowsTheSpecifiedOrder() throws {
        let harness = try VirtioTestHarness()
        let model = harness.model
        // From the start's reset on: ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK.
        let start = model.statusWrites.lastIndex(of: 0)!
        #expect(Array(model.statusWrites[start...]) == [0, 1, 3, 11, 15])
        // Queues are set up after FEATURES_OK and before DRIVER_OK.
        let events = model.events
        let featuresOK = events.lastIndex(of: "status 11")!
        let driverOK = events.lastIndex(of: "status 15")!
        let enables = events.indices.filter { events[$0].hasPrefix("queue_enable") }
        #expect(enables.count == 3)  // rx 0, tx 1, control 8
        #expect(enables.allSatisfy { $0 > featuresOK && $0 < driverOK })
        #expect(model.driverFeatures.contains([.version1, .mac, .status, .mergeableRxBuffers, .ctrlVQ]))
        #expect(!model.driverFeatures.contains(.ringPacked))
        #expect(!model.driverFeatures.contains(.hostTSO4))
        #expect(harness.function.busMaster)
        // Receive buffers were posted before DRIVER_OK, with interrupts off.
        #expect(model.posted(0) == 256)
        #expect(model.interruptsSuppressed(0) && model.interruptsSuppressed(1))
        harness.port.stop()
        #expect(model.status == 0)
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func startResetsADeviceLeftRunning() throws {
        let harness = try VirtioTestHarness()
        let resetsBefore = harness.model.resets
        harness.port.stop()
        try harness.port.start()
        #expect(harness.model.resets == resetsBefore + 2)  // stop, then start's own reset
        #expect(harness.model.status == 15)
    }

    @Test func aRefusedFeatureIsAClearErrorAndLeavesTheDeviceReset() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.refused = [.mergeableRxBuffers]
        let harness = try VirtioTestHarness(setup, start: false)
        #expect {
            try harness.port.start()
        } throws: { error in
            let error = error as! DeviceError
            return error.kind == .unsupported && error.description.contains("refused")
                && error.description.contains("VIRTIO_NET_F_MRG_RXBUF")
        }
        #expect(harness.model.status == 0)
        #expect(harness.model.statusWrites.suffix(2).first! & VirtioDeviceStatus.failed != 0)
        #expect(harness.pool.statistics.available == harness.pool.capacity)
        // Without the refused feature the same device starts.
        let retry = try VirtioTestHarness(setup, options: VirtioNetOptions(mergeableReceiveBuffers: false))
        #expect(retry.model.status == 15)
        #expect(!retry.model.driverFeatures.contains(.mergeableRxBuffers))
        #expect(retry.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_MRG_RXBUF: not taken") })
    }

    @Test func aCapabilityOutsideItsBARIsRefusedAndTheDeviceReset() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.capabilityWindows[.device] = (0x3ff0, 0x40)  // ends 0x30 bytes past the 16 KiB BAR
        let model = SoftwareVirtioNetDevice(setup)
        let resets = model.resets
        #expect {
            _ = try VirtioNetDevice(function: SoftwarePCIFunction(model))
        } throws: { error in
            let text = (error as! DeviceError).description
            return text.contains("device capability") && text.contains("BAR4") && text.contains("0x4000 bytes long")
        }
        #expect(model.resets == resets + 1)
        #expect(model.status == 0)
    }

    @Test func aCommonCapabilityOutsideItsBARIsRefusedWithoutTouchingTheDevice() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.capabilityWindows[.common] = (0xffff_fff0, 0x38)  // wraps in 32 bits
        let model = SoftwareVirtioNetDevice(setup)
        #expect(throws: DeviceError.self) { _ = try VirtioNetDevice(function: SoftwarePCIFunction(model)) }
        #expect(model.statusWrites.isEmpty)
    }

    @Test func aQueueOfSizeZeroIsAClearError() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.queueSizes[1] = 0
        let model = SoftwareVirtioNetDevice(setup)
        #expect {
            _ = try VirtioNetDevice(function: SoftwarePCIFunction(model))
        } throws: { error in
            (error as! DeviceError).description.contains("virtqueue 1 has size 0")
        }
        #expect(model.status == 0)
        #expect(model.statusWrites.suffix(2).first! & VirtioDeviceStatus.failed != 0)
    }

    @Test func aMissingQueueOfASecondPairFailsStart() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.queueSizes[3] = 0
        let harness = try VirtioTestHarness(setup, queues: 2, start: false)
        #expect {
            try harness.port.start()
        } throws: { error in
            (error as! DeviceError).description.contains("virtqueue 3 has size 0")
        }
        #expect(harness.model.status == 0)
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func behindAnIOMMUAModernDeviceNeedsAccessPlatform() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.behindIOMMU = true
        let model = SoftwareVirtioNetDevice(setup)
        #expect {
            _ = try VirtioNetDevice(function: SoftwarePCIFunction(model))
        } throws: { error in
            (error as! DeviceError).description.contains("iommu_platform=on")
        }
        #expect(model.status == 0)
        setup.features.insert(.accessPlatform)
        let harness = try VirtioTestHarness(setup)
        #expect(harness.model.driverFeatures.contains(.accessPlatform))
    }

    @Test func ringSizesThatAreNotPowersOfTwoAreRefused() throws {
        let model = SoftwareVirtioNetDevice()
        let port = try VirtioNetDevice(function: SoftwarePCIFunction(model))
        let pool = try PacketPool(name: "t", capacity: 64, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        #expect(throws: DeviceError.self) {
            try port.configure(PortConfiguration(receiveRingSize: 100, transmitRingSize: 128, receivePools: [pool]))
        }
        #expect(throws: DeviceError.self) {
            try port.configure(PortConfiguration(receiveQueues: 5, transmitQueues: 5, receivePools: [pool]))
        }
    }

    @Test func notADeviceOfThisDriver() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.deviceID = 0x1042  // virtio-blk
        #expect(throws: DeviceError.self) {
            _ = try VirtioNetDevice(function: SoftwarePCIFunction(SoftwareVirtioNetDevice(setup)))
        }
    }

    @Test func legacyTransportInitialises() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.legacy = true
        setup.deviceID = 0x1000
        setup.features = VirtioFeatures(rawValue: setup.features.rawValue & 0xffff_ffff)
        let harness = try VirtioTestHarness(setup)
        #expect(harness.port.info.notes.first == "transport: legacy")
        #expect(harness.port.info.ringSizes == 256...256)
        let start = harness.model.statusWrites.lastIndex(of: 0)!
        #expect(Array(harness.model.statusWrites[start...]) == [0, 1, 3, 7])  // no FEATURES_OK before 1.0
        #expect(harness.model.driverFeatures.contains([.anyLayout, .mergeableRxBuffers]))
        #expect(harness.model.events.filter { $0.hasPrefix("queue_pfn") }.count == 3)
    }

    @Test func aLegacyDeviceBehindAnIOMMUNeedsPhysicalPools() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.legacy = true
        setup.deviceID = 0x1000
        setup.behindIOMMU = true
        setup.features = VirtioFeatures(rawValue: setup.features.rawValue & 0xffff_ffff)
        let port = try VirtioNetDevice(function: SoftwarePCIFunction(SoftwareVirtioNetDevice(setup)))
        #expect(port.requiredIOVAMode == .physical)
        #expect(port.info.notes.contains { $0.hasPrefix("VIRTIO_F_ACCESS_PLATFORM: a legacy device cannot negotiate it") })
        let pool = try PacketPool(name: "t", capacity: 64, cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        #expect {
            try port.configure(PortConfiguration(receiveRingSize: 256, transmitRingSize: 256, receivePools: [pool]))
        } throws: { error in
            (error as! DeviceError).description.contains("iovaMode .physical")
        }
    }

    @Test func transitionalDevicePrefersTheModernInterface() throws {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.deviceID = 0x1000
        let port = try VirtioNetDevice(function: SoftwarePCIFunction(SoftwareVirtioNetDevice(setup)))
        #expect(port.info.notes.first == "transport: modern")
        let legacy = try VirtioNetDevice(
            function: SoftwarePCIFunction(SoftwareVirtioNetDevice(setup)), options: VirtioNetOptions(transport: .legacy))
        #expect(legacy.info.notes.first == "transport: legacy")
    }
}
