import Capture
import Foundation
import Testing

@Suite("pcapng encoding")
struct PcapngEncodingTests {
    @Test("header blocks parse back: application, Ethernet, snap length, nanosecond resolution")
    func headerBlocks() throws {
        let bytes = Pcapng.sectionHeader(application: "test") + Pcapng.interfaceDescription(name: "tap:dp0", snapLength: 128)
            + Pcapng.interfaceDescription(name: "pci:0000:00:10.0", snapLength: 128)
        let file = try PcapngFile(bytes: bytes)
        #expect(file.application == "test")
        #expect(file.interfaces.count == 2)
        let first = file.interfaces[0]
        #expect(first.linkType == 1 && first.snapLength == 128 && first.name == "tap:dp0" && first.timestampResolution == 9)
        #expect(file.interfaces[1].name == "pci:0000:00:10.0")
    }

    @Test("an Enhanced Packet Block keeps bytes, lengths, stamp, direction and drops", arguments: [0, 1, 3, 60, 61])
    func enhancedPacket(captured: Int) throws {
        let payload = (0..<captured).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var bytes = Pcapng.sectionHeader() + Pcapng.interfaceDescription(name: "p", snapLength: 65535)
        for (direction, drops) in [(Pcapng.Direction.inbound, UInt64(0)), (.outbound, 5)] {
            let length = Pcapng.enhancedPacketLength(captured: captured, withDrops: drops > 0)
            var block = [UInt8](repeating: 0xEE, count: length)
            let written = block.withUnsafeMutableBytes { raw in
                Pcapng.writeEnhancedPacket(at: raw.baseAddress!, interface: 0, nanoseconds: 0x1234_5678_9ABC_DEF0,
                                           captured: captured, original: captured + 100, direction: direction, drops: drops) {
                    $0.copyMemory(from: payload, byteCount: captured)
                }
            }
            #expect(written == length)
            #expect(length % 4 == 0)
            bytes += block
        }
        let file = try PcapngFile(bytes: bytes)
        #expect(file.packets.count == 2)
        #expect(file.packets[0].data == payload)
        #expect(file.packets[0].originalLength == captured + 100)
        #expect(file.packets[0].nanoseconds == 0x1234_5678_9ABC_DEF0)
        #expect(file.packets[0].flags == 1)
        #expect(file.packets[0].dropCount == nil)
        #expect(file.packets[1].flags == 2)
        #expect(file.packets[1].dropCount == 5)
    }

    @Test("statistics blocks parse back")
    func statistics() throws {
        let bytes = Pcapng.sectionHeader() + Pcapng.interfaceDescription(name: "p", snapLength: 64)
            + Pcapng.interfaceStatistics(interface: 0, nanoseconds: 7, received: 10, dropped: 2)
        let file = try PcapngFile(bytes: bytes)
        #expect(file.statistics.count == 1)
        #expect(file.statistics.first?.received == 10 && file.statistics.first?.dropped == 2)
    }

    @Test("damaged files are errors, not crashes")
    func damaged() throws {
        let good = Pcapng.sectionHeader() + Pcapng.interfaceDescription(name: "p", snapLength: 64)
        #expect(throws: PcapngFile.ParseError.self) { try PcapngFile(bytes: Array(good.dropLast(3))) }
        #expect(throws: PcapngFile.ParseError.self) { try PcapngFile(bytes: Array(good.dropFirst(4))) }
        var wrongTrailer = good
        wrongTrailer[good.count - 1] = 0x7F
        #expect(throws: PcapngFile.ParseError.self) { try PcapngFile(bytes: wrongTrailer) }
        #expect(throws: PcapngFile.ParseError.self) { try PcapngFile(bytes: [1, 2, 3]) }
    }
}
