import NetDevice
import Packets
import Testing
import Wire
@testable import VirtioNet

/// IPv6 offloads of virtio-net: NEEDS_CSUM with the IPv6 pseudo-header
/// seed, VIRTIO_NET_F_HOST_TSO6 (gso_type TCPV6, virtio 1.x 5.1.6.2) and
/// VIRTIO_NET_F_GUEST_TSO6 (coalesced IPv6 frames received).
@Suite struct VirtioIPv6OffloadTests {
    static let tso6: OffloadFlags = [.txIPv4, .txIPv6, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation, .txTCPSegmentationIPv6]
    static let source = IPv6Address("fd41::2")!
    static let destination = IPv6Address("fd41::1")!

    static func setup(_ features: VirtioFeatures) -> SoftwareVirtioNetDevice.Setup {
        var setup = SoftwareVirtioNetDevice.Setup()
        setup.features.formUnion(features)
        return setup
    }

    /// Ethernet + IPv6 (next header `number`, or a hop-by-hop header of 8
    /// bytes in front of it) + TCP/UDP header + `payload` bytes.
    static func ipv6Frame(protocol number: UInt8, payload: Int, hopByHop: Bool = false) -> [UInt8] {
        let l4Header = number == 6 ? 20 : 8
        let extensions = hopByHop ? 8 : 0
        let length = extensions + l4Header + payload
        var frame: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 1, 0x86, 0xDD]
        frame += [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), hopByHop ? 0 : number, 64]
        for address in [source, destination] {
            var raw = [UInt8](repeating: 0, count: 16)
            raw.withUnsafeMutableBytes { address.store(to: $0.baseAddress!) }
            frame += raw
        }
        if hopByHop { frame += [number, 0, 1, 4, 0, 0, 0, 0] }
        var l4 = [UInt8](repeating: 0, count: l4Header)
        l4[0] = 0x0f; l4[1] = 0xa0; l4[3] = 9
        if number == 17 { l4[4] = UInt8((8 + payload) >> 8); l4[5] = UInt8((8 + payload) & 0xff) } else { l4[12] = 0x50 }
        frame += l4
        for i in 0..<payload { frame.append(UInt8(truncatingIfNeeded: i * 5 + 1)) }
        return frame
    }

    /// The frame's L4 checksum once the device's part is done (the sum from
    /// `start` on, complemented, at `start + offset`) is right over the IPv6 pseudo-header.
    static func checksumValid(_ frame: [UInt8], start: Int, offset: Int) -> Bool {
        func sum(_ bytes: ArraySlice<UInt8>) -> UInt32 { Array(bytes).withUnsafeBytes { InternetChecksum.sum($0) } }
        var completed = frame
        let device = ~UInt16(InternetChecksum.fold(UInt64(sum(frame[start...]))))
        completed[start + offset] = UInt8(device >> 8)
        completed[start + offset + 1] = UInt8(device & 0xff)
        let pseudo = InternetChecksum.pseudoHeaderSum(source: source, destination: destination,
                                                      nextHeader: IPProtocol(rawValue: frame[20]), length: frame.count - start)
        return UInt16(InternetChecksum.fold(UInt64(sum(completed[start...]) + pseudo))) == 0xffff
    }

    @Test func hostTSO6IsTakenWithChecksumsWhenAskedAndOffersIPv6Offloads() throws {
        let asked = try VirtioTestHarness(Self.setup(.hostTSO6), transmitOffloads: Self.tso6)
        #expect(asked.model.driverFeatures.isSuperset(of: [.csum, .hostTSO4, .hostTSO6]))
        #expect(asked.port.transmitOffloadsInUse.isSuperset(of: [.txIPv6, .txTCPSegmentationIPv6]))
        #expect(asked.port.info.transmitOffloads.contains(.txTCPSegmentationIPv6))
        let onlyIPv4 = try VirtioTestHarness(Self.setup(.hostTSO6), transmitOffloads: [.txIPv4, .txTCPChecksum, .txTCPSegmentation])
        #expect(!onlyIPv4.model.driverFeatures.contains(.hostTSO6))
        #expect(onlyIPv4.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_HOST_TSO6: not taken: no transmit TCP-over-IPv6") })
        // A device without HOST_TSO6 does not offer the cut, and refuses a configuration asking for it.
        let notOffered = try VirtioTestHarness(start: false)
        #expect(!notOffered.port.info.transmitOffloads.contains(.txTCPSegmentationIPv6))
        #expect(notOffered.port.info.transmitOffloads.contains(.txIPv6))
        #expect(throws: DeviceError.self) { _ = try VirtioTestHarness(transmitOffloads: Self.tso6) }
    }

    @Test func aChainedIPv6SegmentCarriesGSOTypeTCPV6AndTheFullLengthSeed() throws {
        let harness = try VirtioTestHarness(Self.setup(.hostTSO6), transmitOffloads: Self.tso6)
        let frame = Self.ipv6Frame(protocol: 6, payload: 6000)
        let taken = harness.send([Array(frame[0..<1400])]) { packet in
            var offset = 1400
            while offset < frame.count {
                let next = harness.pool.allocate()!
                next.setContents(frame[offset..<min(offset + 1400, frame.count)])
                #expect(packet.chain(next))
                offset += 1400
            }
            packet.offloadFlags = [.txIPv6, .txTCPChecksum, .txTCPSegmentation]
            packet.setHeaderLengths(l2: 14, l3: 40, l4: 20)
            packet.segmentSize = 1428
        }
        #expect(taken == 1)
        harness.model.processTransmit()
        let sent = try #require(harness.model.transmitted.first)
        // flags NEEDS_CSUM, gso TCPV6 (4), hdr_len 74, gso_size 1428, csum_start 54, csum_offset 16
        #expect(sent.header == [1, 4, 74, 0, 0x94, 0x05, 54, 0, 16, 0, 0, 0])
        #expect(sent.frame.count == frame.count)
        #expect(sent.frame[74...] == frame[74...])
        // The seed is the IPv6 pseudo-header with the whole TCP length, as Linux's GSO wants it.
        let seed = UInt16(sent.frame[70]) << 8 | UInt16(sent.frame[71])
        let expected = InternetChecksum.seed(InternetChecksum.pseudoHeaderSum(
            source: Self.source, destination: Self.destination, nextHeader: .tcp, length: frame.count - 54))
        #expect(seed == expected)
        #expect(Self.checksumValid(sent.frame, start: 54, offset: 16))
    }

    @Test func ipv6ChecksumRequestsAreSeededAndComplete() throws {
        let harness = try VirtioTestHarness(transmitOffloads: [.txIPv6, .txTCPChecksum, .txUDPChecksum])
        let udp = Self.ipv6Frame(protocol: 17, payload: 333)
        let tcp = Self.ipv6Frame(protocol: 6, payload: 1000)
        #expect(harness.send([udp]) { $0.offloadFlags = [.txIPv6, .txUDPChecksum]; $0.setHeaderLengths(l2: 14, l3: 40, l4: 8) } == 1)
        #expect(harness.send([tcp]) { $0.offloadFlags = [.txIPv6, .txTCPChecksum]; $0.setHeaderLengths(l2: 14, l3: 40, l4: 20) } == 1)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.count == 2)
        let sentUDP = try #require(harness.model.transmitted.first)
        #expect(Array(sentUDP.header[0..<10]) == [1, 0, 0, 0, 0, 0, 54, 0, 6, 0])
        #expect(Self.checksumValid(sentUDP.frame, start: 54, offset: 6))
        let sentTCP = try #require(harness.model.transmitted.last)
        #expect(Array(sentTCP.header[0..<10]) == [1, 0, 0, 0, 0, 0, 54, 0, 16, 0])
        #expect(Self.checksumValid(sentTCP.frame, start: 54, offset: 16))
    }

    @Test func requestsThatCannotBeMetAreNotOffloaded() throws {
        // HOST_TSO4 but no HOST_TSO6: an IPv6 TSO request is a counted drop.
        let ipv4Only = try VirtioTestHarness(transmitOffloads: [.txIPv4, .txIPv6, .txTCPChecksum, .txTCPSegmentation])
        let large = Self.ipv6Frame(protocol: 6, payload: 1800)
        #expect(ipv4Only.send([large]) { packet in
            packet.offloadFlags = [.txIPv6, .txTCPChecksum, .txTCPSegmentation]
            packet.setHeaderLengths(l2: 14, l3: 40, l4: 20)
            packet.segmentSize = 1000
        } == 1)
        ipv4Only.model.processTransmit()
        #expect(ipv4Only.model.transmitted.isEmpty)
        #expect(ipv4Only.port.statistics().transmitErrors == 1)
        // A hop-by-hop header between IPv6 and TCP: no checksum placement (sent as it is).
        let harness = try VirtioTestHarness(transmitOffloads: [.txIPv6, .txTCPChecksum])
        let withOptions = Self.ipv6Frame(protocol: 6, payload: 100, hopByHop: true)
        #expect(harness.send([withOptions]) { $0.offloadFlags = [.txIPv6, .txTCPChecksum]; $0.setHeaderLengths(l2: 14, l3: 48, l4: 20) } == 1)
        // An IPv4 request on an IPv6 frame: the version does not match.
        let plain = Self.ipv6Frame(protocol: 6, payload: 100)
        #expect(harness.send([plain]) { $0.offloadFlags = [.txIPv4, .txTCPChecksum]; $0.setHeaderLengths(l2: 14, l3: 40, l4: 20) } == 1)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.map { $0.header[0] } == [0, 0])
    }

    @Test func guestTSO6IsTakenWithReceiveCoalescing() throws {
        let coalescing: OffloadFlags = [.rxL4ChecksumGood, .rxL4ChecksumNone, .rxTCPCoalesced]
        let harness = try VirtioTestHarness(Self.setup([.guestTSO4, .guestTSO6]), receiveOffloads: coalescing)
        #expect(harness.model.driverFeatures.isSuperset(of: [.guestTSO4, .guestTSO6, .guestCsum, .mergeableRxBuffers]))
        let only6 = try VirtioTestHarness(Self.setup(.guestTSO6), receiveOffloads: coalescing)
        #expect(only6.port.info.receiveOffloads.contains(.rxTCPCoalesced))
        #expect(only6.model.driverFeatures.contains(.guestTSO6))
        let notAsked = try VirtioTestHarness(Self.setup(.guestTSO6), receiveOffloads: [.rxL4ChecksumGood])
        #expect(!notAsked.model.driverFeatures.contains(.guestTSO6))
        #expect(notAsked.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_GUEST_TSO6: not taken: no receive coalescing") })
    }
}
