import Testing
import NetDevice
import Packets
import Wire
@testable import E1000

/// TCP segmentation (TSE context descriptors, 8254x SDM 3.6.5) against the
/// model, which cuts frames as QEMU's e1000 does (hw/net/e1000.c xmit_seg).
@Suite struct E1000SegmentationTests {
    /// A TCP frame of `payload` bytes with PSH and FIN set, split over
    /// buffers of at most 1500 bytes (as the stack's chains are).
    static func tsoPacket(_ fixture: E1000Fixture, payload: Int, mss: Int) -> (PacketBuffer, [UInt8]) {
        var frame = Frames.ipv4(protocolNumber: 6, payload: payload)
        frame[47] = 0x19  // ACK | PSH | FIN
        var pieces: [PacketBuffer] = []
        var offset = 0
        while offset < frame.count {
            let end = min(offset + 1500, frame.count)
            pieces.append(fixture.packet(Array(frame[offset..<end])))
            offset = end
        }
        for piece in pieces.dropFirst() { #expect(pieces[0].chain(piece)) }
        let packet = pieces[0]
        packet.offloadFlags = [.txIPv4, .txTCPChecksum, .txTCPSegmentation]
        packet.setHeaderLengths(l2: 14, l3: 20, l4: 20)
        packet.segmentSize = mss
        return (packet, frame)
    }

    @Test func aLargeSegmentIsCutIntoMSSPiecesWithHeadersFixed() throws {
        let fixture = try E1000Fixture(ringSize: 128)
        let (packet, frame) = Self.tsoPacket(fixture, payload: 4000, mss: 1448)
        #expect(fixture.transmit([packet]) == 1)
        let sent = fixture.model.transmitted
        #expect(sent.map(\.count) == [54 + 1448, 54 + 1448, 54 + 1104])
        for (index, piece) in sent.enumerated() {
            #expect(Frames.ipChecksumValid(piece))
            #expect(Frames.l4ChecksumValid(piece))
            #expect(Int(piece[16]) << 8 | Int(piece[17]) == piece.count - 14)  // IPv4 total length
            #expect(Int(piece[18]) << 8 | Int(piece[19]) == 0x1234 + index)  // identification
            let seq = UInt32(piece[38]) << 24 | UInt32(piece[39]) << 16 | UInt32(piece[40]) << 8 | UInt32(piece[41])
            #expect(seq == 1 + UInt32(index * 1448))
            // PSH and FIN on the last piece only.
            #expect(piece[47] & 0x09 == (index == sent.count - 1 ? 0x09 : 0))
            #expect(Array(piece[54...]) == Array(frame[(54 + index * 1448)..<min(54 + (index + 1) * 1448, frame.count)]))
        }
        #expect(fixture.model.segmentationContextsSeen == 1)
    }

    @Test func eachSegmentedPacketHasItsOwnContextAndChecksumContextsComeBack() throws {
        let fixture = try E1000Fixture(ringSize: 128)
        let checksummed = fixture.packet(Frames.ipv4(protocolNumber: 17, payload: 100))
        checksummed.offloadFlags = [.txIPv4, .txIPChecksum, .txUDPChecksum]
        checksummed.setHeaderLengths(l2: 14, l3: 20, l4: 8)
        let (first, _) = Self.tsoPacket(fixture, payload: 3000, mss: 1460)
        let (second, _) = Self.tsoPacket(fixture, payload: 2000, mss: 1460)
        let again = fixture.packet(Frames.ipv4(protocolNumber: 17, payload: 100))
        again.offloadFlags = [.txIPv4, .txIPChecksum, .txUDPChecksum]
        again.setHeaderLengths(l2: 14, l3: 20, l4: 8)
        #expect(fixture.transmit([checksummed, first, second, again]) == 4)
        #expect(fixture.model.transmitted.count == 1 + 3 + 2 + 1)
        #expect(fixture.model.segmentationContextsSeen == 2)
        // The checksum context is written again after the TSO ones.
        #expect(fixture.model.contextDescriptorsSeen == 4)
        #expect(fixture.model.transmitted.allSatisfy { Frames.ipChecksumValid($0) && Frames.l4ChecksumValid($0) })
    }

    @Test func segmentationRequestsThatCannotBeMetAreCountedDrops() throws {
        let fixture = try E1000Fixture(ringSize: 128)
        let (noSize, _) = Self.tsoPacket(fixture, payload: 3000, mss: 1460)
        noSize.segmentSize = 0
        let (noChecksum, _) = Self.tsoPacket(fixture, payload: 3000, mss: 1460)
        noChecksum.offloadFlags = [.txIPv4, .txTCPSegmentation]
        let (udp, _) = Self.tsoPacket(fixture, payload: 3000, mss: 1460)
        udp.data.storeBytes(of: 17, toByteOffset: 23, as: UInt8.self)
        #expect(fixture.transmit([noSize, noChecksum, udp]) == 3)
        #expect(fixture.model.transmitted.isEmpty)
        #expect(fixture.device.statistics().extended["tx_drop_bad_offload_request"] == 3)
        fixture.device.stop()
        #expect(fixture.pool.statistics.available == fixture.pool.capacity)
    }
}
