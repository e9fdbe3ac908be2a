import NetDevice
import Packets
import Testing
@testable import VirtioNet

/// VIRTIO_NET_F_GUEST_TSO4 over mergeable buffers: the host hands a
/// coalesced TCP frame of up to 64 KiB, spread over several receive
/// buffers (num_buffers), which the driver links into one chain.
@Suite struct VirtioReceiveCoalescingTests {
    static let coalescing: OffloadFlags = [.rxL4ChecksumGood, .rxL4ChecksumNone, .rxTCPCoalesced]

    static func setupOfferingTSO() -> SoftwareVirtioNetDevice.Setup {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.insert(.guestTSO4)
        return setup
    }

    @Test func guestTSO4IsTakenWithChecksumAndMergeableBuffers() throws {
        let harness = try VirtioTestHarness(Self.setupOfferingTSO(), receiveOffloads: Self.coalescing)
        #expect(harness.model.driverFeatures.isSuperset(of: [.guestTSO4, .guestCsum, .mergeableRxBuffers]))
        #expect(harness.port.info.receiveOffloads.contains(.rxTCPCoalesced))
    }

    @Test func guestTSO4IsNotTakenWhenNotAskedFor() throws {
        let harness = try VirtioTestHarness(Self.setupOfferingTSO(), receiveOffloads: [.rxL4ChecksumGood])
        #expect(!harness.model.driverFeatures.contains(.guestTSO4))
        #expect(harness.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_GUEST_TSO4: not taken") })
    }

    @Test func guestTSO4NeedsMergeableBuffers() throws {
        let harness = try VirtioTestHarness(Self.setupOfferingTSO(), options: VirtioNetOptions(mergeableReceiveBuffers: false),
                                            dataRoom: 2048, receiveOffloads: Self.coalescing)
        #expect(!harness.model.driverFeatures.contains(.guestTSO4))
        #expect(harness.port.info.notes.contains { $0.contains("GUEST_TSO4: not taken: it needs") })
    }

    @Test func aCoalescedFrameArrivesAsOneChainWithItsFlags() throws {
        let harness = try VirtioTestHarness(Self.setupOfferingTSO(), dataRoom: 2048, receiveOffloads: Self.coalescing)
        let large = makeTestFrame(20_000, seed: 7)
        let small = makeTestFrame(80, seed: 8)
        #expect(harness.model.receive([large], headerFlags: VirtioNetHeader.needsChecksum,
                                      gsoType: VirtioNetHeader.gsoTCPv4) == 1)
        #expect(harness.model.receive([small], headerFlags: VirtioNetHeader.dataValid) == 1)
        let packets = harness.receiveAll(expected: 2)
        #expect(packets.count == 2)
        #expect(packets.map { $0.contents() } == [large, small])
        // (20,000 + 12) bytes in buffers of 2,048 + 12: ten segments.
        #expect(packets.map(\.segmentCount) == [10, 1])
        #expect(packets.map(\.offloadFlags) == [[.rxL4ChecksumNone, .rxTCPCoalesced], [.rxL4ChecksumGood]])
        for packet in packets { packet.free() }
        harness.port.stop()
        #expect(harness.pool.statistics.available == harness.pool.capacity)
    }

    @Test func headerFlagsMapToOffloadFlags() {
        #expect(VirtioNetHeader.receiveFlags(flags: 0, gsoType: 0) == [])
        #expect(VirtioNetHeader.receiveFlags(flags: VirtioNetHeader.dataValid, gsoType: 0) == .rxL4ChecksumGood)
        #expect(VirtioNetHeader.receiveFlags(flags: VirtioNetHeader.needsChecksum, gsoType: VirtioNetHeader.gsoTCPv4)
                == [.rxL4ChecksumNone, .rxTCPCoalesced])
    }
}
