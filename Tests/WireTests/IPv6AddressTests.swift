import Testing
import Wire

@Suite struct IPv6AddressTests {
    // RFC 5952 §4 and its examples: text in, canonical text out.
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("fe80::5054:ff:fe12:3456", "fe80::5054:ff:fe12:3456"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrintsCanonically(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:", ":1", "g::", "1:2:3:4:5:6:7",
        "::1.2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7::8:9", "fe80::1%eth0",
    ])
    func rejectsMalformedText(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func derivesLinkLocalSolicitedNodeAndMulticastMAC() throws {
        let mac = try #require(MACAddress("52:54:00:12:34:56"))
        let linkLocal = IPv6Address(linkLocalFrom: mac)
        #expect(linkLocal.description == "fe80::5054:ff:fe12:3456")
        #expect(linkLocal.isLinkLocal && !linkLocal.isMulticast)
        #expect(linkLocal.solicitedNodeMulticast.description == "ff02::1:ff12:3456")
        #expect(linkLocal.solicitedNodeMulticast.multicastMAC == MACAddress(0x33, 0x33, 0xff, 0x12, 0x34, 0x56))
        #expect(IPv6Address.allNodes.isLinkLocalMulticast)
    }

    @Test func mapsIPv4() throws {
        let mapped = IPv6Address(ipv4Mapped: IPv4Address(10, 120, 0, 2))
        #expect(mapped.isIPv4Mapped && mapped.ipv4Mapped == IPv4Address(10, 120, 0, 2))
        #expect(mapped.description == "::ffff:10.120.0.2")
        #expect(IPv6Address("fd20::2")?.ipv4Mapped == nil)
    }

    @Test func networksMatchTheirPrefix() throws {
        let network = try #require(IPv6Network("fd20::2/64"))
        #expect(network.contains(try #require(IPv6Address("fd20::ffff:1"))))
        #expect(!network.contains(try #require(IPv6Address("fd20:0:0:1::2"))))
        let odd = try #require(IPv6Network("fd20::/77"))
        #expect(odd.contains(try #require(IPv6Address("fd20::7:ffff:ffff:ffff"))))
        #expect(!odd.contains(try #require(IPv6Address("fd20::8:0:0:0"))))
        #expect(IPv6Network("fd20::/129") == nil)
        #expect(IPv6Network("fd20::2")?.prefixLength == 128)
    }

    @Test func roundTripsThroughBytes() {
        var rng = SplitMix(state: 20)
        for _ in 0..<200 {
            let address = IPv6Address(high: rng.next(), low: rng.next())
            var bytes = [UInt8](repeating: 0, count: 16)
            bytes.withUnsafeMutableBytes { address.store(to: $0.baseAddress!) }
            #expect(bytes.withUnsafeBytes { IPv6Address(loadingFrom: $0.baseAddress!) } == address)
            #expect(IPv6Address(address.description) == address)
        }
    }
}
