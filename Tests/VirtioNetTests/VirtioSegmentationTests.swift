import NetDevice
import Packets
import Testing
import Wire
@testable import VirtioNet

/// VIRTIO_NET_F_HOST_TSO4: a large TCP segment goes out as one chain with
/// gso_type TCPV4, gso_size and hdr_len in its header (virtio 1.x 5.1.6.2).
@Suite struct VirtioSegmentationTests {
    static let offloads: OffloadFlags = [.txIPv4, .txTCPChecksum, .txTCPSegmentation]

    @Test func hostTSO4IsTakenOnlyWithChecksumsAndWhenAsked() throws {
        let asked = try VirtioTestHarness(transmitOffloads: Self.offloads)
        #expect(asked.model.driverFeatures.contains([.csum, .hostTSO4]))
        #expect(asked.port.transmitOffloadsInUse.contains(.txTCPSegmentation))
        let notAsked = try VirtioTestHarness(transmitOffloads: [.txTCPChecksum])
        #expect(!notAsked.model.driverFeatures.contains(.hostTSO4))
        #expect(!notAsked.port.transmitOffloadsInUse.contains(.txTCPSegmentation))
        #expect(notAsked.port.info.notes.contains { $0.hasPrefix("VIRTIO_NET_F_HOST_TSO4: not taken") })
    }

    @Test func aChainedSegmentCarriesTheGSOFields() throws {
        let harness = try VirtioTestHarness(transmitOffloads: Self.offloads)
        let frame = VirtioDataPathTests.ipv4Frame(protocol: 6, payload: 5000)
        let taken = harness.send([Array(frame[0..<1400])]) { packet in
            var offset = 1400
            while offset < frame.count {
                let next = harness.pool.allocate()!
                next.setContents(frame[offset..<min(offset + 1400, frame.count)])
                #expect(packet.chain(next))
                offset += 1400
            }
            packet.offloadFlags = Self.offloads
            packet.setHeaderLengths(l2: 14, l3: 20, l4: 20)
            packet.segmentSize = 1448
        }
        #expect(taken == 1)
        harness.model.processTransmit()
        let sent = try #require(harness.model.transmitted.first)
        // flags NEEDS_CSUM, gso TCPV4, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16
        #expect(sent.header == [1, 1, 54, 0, 0xA8, 0x05, 34, 0, 16, 0, 0, 0])
        #expect(sent.frame.count == frame.count)
        #expect(sent.frame[54...] == frame[54...])
        // The seed holds the whole length: the host's GSO redoes it per piece.
        let seed = UInt32(sent.frame[50]) << 8 | UInt32(sent.frame[51])
        #expect(seed == 0x0A00 + 0x0002 + 0x0A00 + 0x0001 + 6 + UInt32(frame.count - 34))
    }

    @Test func segmentationRequestsThatCannotBeMetAreCountedDrops() throws {
        let harness = try VirtioTestHarness(transmitOffloads: Self.offloads)
        let frame = VirtioDataPathTests.ipv4Frame(protocol: 6, payload: 1000)
        let taken = harness.send([frame, frame]) { packet in
            packet.offloadFlags = Self.offloads
            packet.setHeaderLengths(l2: 14, l3: 20, l4: 0)  // TCP header length missing
            packet.segmentSize = 500
        }
        #expect(taken == 2)
        harness.model.processTransmit()
        #expect(harness.model.transmitted.isEmpty)
        #expect(harness.port.statistics().transmitErrors == 2)
    }
}
