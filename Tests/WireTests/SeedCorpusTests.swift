import Foundation
import Testing
import Wire

/// The fuzz seeds must be valid packets (else the fuzzers start from noise):
/// each parses all the way down, checksums included.
@Suite struct SeedCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/fuzz/corpus")

    static func seeds(_ target: String) throws -> [[UInt8]] {
        let directory = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { [UInt8](try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    @Test func ethernetARPSeedsParse() throws {
        let seeds = try Self.seeds("ethernet-arp")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try withBuffer(seed) { bytes in
                let frame = try EthernetFrame(checking: bytes)
                if frame.etherType == .arp {
                    _ = try ARPRepr.parse(try ARPPacket(checking: frame.payload))
                } else {
                    _ = try IPv4Repr.parse(try IPv4Packet(checking: frame.payload))
                }
            }
        }
    }

    @Test func ipv4ICMPSeedsParse() throws {
        let seeds = try Self.seeds("ipv4-icmp")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try withBuffer(seed) { bytes in
                let packet = try IPv4Packet(checking: bytes)
                let ip = try IPv4Repr.parse(packet)
                if ip.protocol == .icmp && !ip.isFragment {
                    _ = try ICMPv4Repr.parse(try ICMPv4Message(checking: packet.payload))
                }
            }
        }
    }

    @Test func udpSeedsParse() throws {
        let seeds = try Self.seeds("udp")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try withBuffer(seed) { bytes in
                let source = IPv4Address(loadingFrom: bytes.baseAddress!)
                let destination = IPv4Address(loadingFrom: bytes.baseAddress! + 4)
                let datagram = try UDPDatagram(checking: UnsafeMutableRawBufferPointer(rebasing: bytes[8...]))
                _ = try UDPRepr.parse(datagram, source: source, destination: destination)
            }
        }
    }

    @Test func ipv6SeedsParse() throws {
        let seeds = try Self.seeds("ipv6-icmpv6")
        #expect(seeds.count >= 5)
        for seed in seeds {
            if seed.first != 0x60 {  // the address text seed
                #expect(IPv6Address(String(decoding: seed, as: UTF8.self)) != nil)
                continue
            }
            try withBuffer(seed) { bytes in
                let packet = try IPv6Packet(checking: bytes)
                let ip = try IPv6Repr.parse(packet)
                let chain = try IPv6HeaderChain.parse(packet.payload, first: ip.nextHeader)
                let upper = UnsafeMutableRawBufferPointer(rebasing: packet.payload[chain.upperLayerOffset...])
                if chain.upperLayer == .icmpv6 {
                    _ = try ICMPv6Repr.parse(
                        try ICMPv6Message(checking: upper), source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit)
                } else if chain.upperLayer == .udp && chain.fragment == nil {
                    _ = try UDPRepr.parse(try UDPDatagram(checking: upper), source: ip.source, destination: ip.destination)
                }
            }
        }
    }

    @Test func tcpSeedsParse() throws {
        let seeds = try Self.seeds("tcp")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try withBuffer(seed) { bytes in
                let source = IPv4Address(loadingFrom: bytes.baseAddress!)
                let destination = IPv4Address(loadingFrom: bytes.baseAddress! + 4)
                let segment = try TCPSegment(checking: UnsafeMutableRawBufferPointer(rebasing: bytes[8...]))
                _ = try TCPRepr.parse(segment, source: source, destination: destination)
            }
        }
    }
}
