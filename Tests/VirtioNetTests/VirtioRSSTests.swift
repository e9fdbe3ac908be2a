import NetDevice
import Packets
import Testing
import Wire
@testable import VirtioNet

@Suite("virtio-net receive-side scaling (VIRTIO_NET_F_RSS) over the software device model")
struct VirtioRSSTests {
    static func rssSetup(pairs: Int = 4) -> SoftwareVirtioNetDevice.Setup {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.insert(.rss)
        setup.maxPairs = pairs
        return setup
    }

    @Test("the key, the table and the IPv4/TCPv6/UDPv6 hash types go to the device in RSS_CONFIG, which also sets the queue pairs")
    func rssConfigReachesTheDevice() throws {
        let table = try #require(RSSRedirectionTable(queues: 4))
        let settings = RSSSettings(key: ToeplitzHash.microsoftKey, table: table)
        let harness = try VirtioTestHarness(Self.rssSetup(), queues: 4, receiveSideScaling: settings)
        #expect(harness.port.info.offersReceiveSideScaling)
        #expect(harness.model.driverFeatures.contains(.rss))
        let rss = try #require(harness.model.rss)
        #expect(rss.hashTypes == 0x37, "IPv4, TCPv4, UDPv4, TCPv6, UDPv6 (not the IPv6 2-tuple: NDP stays on queue 0)")
        #expect(rss.table == table.entries)
        #expect(rss.key == ToeplitzHash.microsoftKey)
        #expect(rss.maxTransmitQueues == 4 && harness.model.activePairs == 4)
        #expect(!harness.model.controlCommands.contains { $0.0 == 4 && $0.1 == 0 }, "RSS_CONFIG replaces VQ_PAIRS_SET")
    }

    @Test("without RSS asked for, the feature is not taken and VQ_PAIRS_SET sets the pairs")
    func withoutRSSTheDeviceChooses() throws {
        let harness = try VirtioTestHarness(Self.rssSetup(), queues: 2)
        #expect(!harness.model.driverFeatures.contains(.rss))
        #expect(harness.model.rss == nil && harness.model.activePairs == 2)
        #expect(harness.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_RSS: not taken") })
    }

    @Test("RSS on a device that does not offer it, or a table over other queue counts, is a clear error")
    func refusals() throws {
        let table = try #require(RSSRedirectionTable(queues: 2))
        var plain = SoftwareVirtioNetDevice.Setup()
        plain.maxPairs = 2
        #expect(throws: DeviceError.self) {
            try VirtioTestHarness(plain, queues: 2, receiveSideScaling: RSSSettings(key: ToeplitzHash.microsoftKey, table: table))
        }
        #expect(throws: DeviceError.self) {
            try VirtioTestHarness(Self.rssSetup(), queues: 4, receiveSideScaling: RSSSettings(key: ToeplitzHash.microsoftKey, table: table))
        }
        // A device whose key is shorter than ours refuses at start, with the limit in the message.
        var shortKey = Self.rssSetup(pairs: 2)
        shortKey.rssMaxKeySize = 16
        #expect {
            try VirtioTestHarness(shortKey, queues: 2, receiveSideScaling: RSSSettings(key: ToeplitzHash.microsoftKey, table: table))
        } throws: { error in
            (error as? DeviceError)?.description.contains("1...16") == true
        }
    }

    @Test("the payload layout: hash types, mask, unclassified queue, table, max_tx_vq, key")
    func payloadLayout() throws {
        let table = try #require(RSSRedirectionTable(queues: 2, entryCount: 4))
        let bytes = try VirtioRSSConfiguration.payload(RSSSettings(key: [9, 8, 7], table: table), queuePairs: 2,
                                                       maximumKeySize: 40, maximumTableLength: 128, supportedHashTypes: 0x3f)
        // Hash types 0x37: IPv4, TCPv4, UDPv4, TCPv6, UDPv6 (not the IPv6 2-tuple: NDP stays on queue 0).
        #expect(bytes == [0x37, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 0, 3, 9, 8, 7])
        // A device without the IPv6 types: IPv4's only.
        let ipv4Only = try VirtioRSSConfiguration.payload(RSSSettings(key: [9, 8, 7], table: table), queuePairs: 2,
                                                          maximumKeySize: 40, maximumTableLength: 128, supportedHashTypes: 0x7)
        #expect(ipv4Only[0] == 7)
    }
}
