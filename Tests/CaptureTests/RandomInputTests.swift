import Capture
import Testing

/// Bad input is an error, never a crash: random filter texts and random
/// (and randomly damaged) pcapng bytes.
@Suite("random input")
struct RandomInputTests {
    @Test("random filter texts parse or fail with a message")
    func filters() {
        var generator = SystemRandomNumberGenerator()
        let words = ["host", "src", "dst", "port", "tcp", "udp", "icmp", "arp", "ip", "and", "or", "not", "(", ")", "!", "&&", "||",
                     "10.0.0.1", "7", "65536", "-1", "x", "", "1.2.3", "\u{0}", "é"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in words.randomElement(using: &generator)! }
                .joined(separator: Bool.random(using: &generator) ? " " : "")
            do {
                let filter = try CaptureFilter(parsing: text)
                // What parsed matches without trouble, and prints as something that parses again.
                _ = [UInt8](repeating: 0, count: 60).withUnsafeBytes { filter.matches(frame: $0) }
                #expect((try? CaptureFilter(parsing: filter.description)) == filter, "\(text) → \(filter)")
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
    }

    @Test("random and damaged pcapng bytes are parse errors or files")
    func files() {
        var generator = SystemRandomNumberGenerator()
        var good = Pcapng.sectionHeader() + Pcapng.interfaceDescription(name: "p", snapLength: 64)
            + Pcapng.interfaceStatistics(interface: 0, nanoseconds: 1, received: 2, dropped: 3)
        var block = [UInt8](repeating: 0, count: Pcapng.enhancedPacketLength(captured: 10, withDrops: true))
        _ = block.withUnsafeMutableBytes { raw in
            Pcapng.writeEnhancedPacket(at: raw.baseAddress!, interface: 0, nanoseconds: 5, captured: 10, original: 10,
                                       direction: .inbound, drops: 1) { $0.initializeMemory(as: UInt8.self, repeating: 7, count: 10) }
        }
        good += block
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            _ = try? PcapngFile(bytes: bytes)
        }
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? PcapngFile(bytes: bytes)
        }
    }
}
