import NetDevice
import Packets
import Testing
import Wire
@testable import E1000

/// IPv6 on the 82540EM: L4 checksums through a context descriptor with
/// TUCMD.IP clear (8254x SDM 3.3.6); no TSO for IPv6 (QEMU's model
/// writes the payload length 40 bytes long, Docs/E1000.md).
@Suite struct E1000IPv6OffloadTests {
    static let source = IPv6Address("fd41::1")!
    static let destination = IPv6Address("fd41::2")!

    /// An IPv6 frame carrying UDP (17) or TCP (6) with a zero checksum.
    static func ipv6(protocolNumber: UInt8, payload: Int) -> [UInt8] {
        let l4Header = protocolNumber == 6 ? 20 : 8
        let length = l4Header + payload
        var frame = Frames.peerMAC + Frames.deviceMAC + [0x86, 0xDD]
        frame += [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), protocolNumber, 64]
        for address in [source, destination] {
            var raw = [UInt8](repeating: 0, count: 16)
            raw.withUnsafeMutableBytes { address.store(to: $0.baseAddress!) }
            frame += raw
        }
        if protocolNumber == 6 {
            frame += [0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]
        } else {
            frame += [0x30, 0x39, 0x00, 0x35, UInt8(length >> 8), UInt8(length & 0xff), 0, 0]
        }
        for i in 0..<payload { frame.append(UInt8(truncatingIfNeeded: i * 7 + 3)) }
        return frame
    }

    static func checksumValid(_ frame: [UInt8]) -> Bool {
        let pseudo = InternetChecksum.pseudoHeaderSum(source: source, destination: destination,
                                                      nextHeader: IPProtocol(rawValue: frame[20]), length: frame.count - 54)
        return Frames.sum(frame[54...], initial: pseudo) == 0xffff
    }

    @Test(arguments: [UInt8(17), UInt8(6)])
    func ipv6ChecksumsAreFilledInThroughAContextWithoutTheIPBit(protocolNumber: UInt8) throws {
        let fixture = try E1000Fixture()
        #expect(fixture.device.info.transmitOffloads.contains(.txIPv6))
        #expect(!fixture.device.info.transmitOffloads.contains(.txTCPSegmentationIPv6))
        let l4Flag: OffloadFlags = protocolNumber == 6 ? .txTCPChecksum : .txUDPChecksum
        var packets = [PacketBuffer]()
        for payload in [0, 333, 1400] {
            let packet = fixture.packet(Self.ipv6(protocolNumber: protocolNumber, payload: payload))
            packet.offloadFlags = [.txIPv6, l4Flag]
            packet.setHeaderLengths(l2: 14, l3: 40, l4: protocolNumber == 6 ? 20 : 8)
            packets.append(packet)
        }
        #expect(fixture.transmit(packets) == 3)
        #expect(fixture.model.transmitted.count == 3)
        for frame in fixture.model.transmitted { #expect(Self.checksumValid(frame)) }
        #expect(fixture.model.contextDescriptorsSeen == 1, "one context for three packets of one layout")
    }

    @Test func ipv6RequestsThatCannotBeMetAreCountedDrops() throws {
        let fixture = try E1000Fixture(dataRoom: 4096)
        // An IPv4 header checksum asked of an IPv6 packet, an IPv6 TSO request
        // (not offered), and an IPv6 flag on an IPv4 frame.
        let ipChecksum = fixture.packet(Self.ipv6(protocolNumber: 17, payload: 10))
        ipChecksum.offloadFlags = [.txIPv6, .txIPChecksum, .txUDPChecksum]
        ipChecksum.setHeaderLengths(l2: 14, l3: 40, l4: 8)
        let segmentation = fixture.packet(Self.ipv6(protocolNumber: 6, payload: 3000))
        segmentation.offloadFlags = [.txIPv6, .txTCPChecksum, .txTCPSegmentation]
        segmentation.setHeaderLengths(l2: 14, l3: 40, l4: 20)
        segmentation.segmentSize = 1000
        let wrongVersion = fixture.packet(Frames.ipv4(protocolNumber: 17, payload: 10))
        wrongVersion.offloadFlags = [.txIPv6, .txUDPChecksum]
        wrongVersion.setHeaderLengths(l2: 14, l3: 40, l4: 8)
        #expect(fixture.transmit([ipChecksum, segmentation, wrongVersion]) == 3)
        #expect(fixture.model.transmittedCount == 0)
        #expect(fixture.device.statistics().extended["tx_drop_bad_offload_request"] == 3)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }
}
