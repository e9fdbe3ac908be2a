import Capture
import Testing
import Wire

@Suite("capture filter")
struct CaptureFilterTests {
    /// Ethernet + IPv4 + 8 bytes of transport (ports first).
    static func ipv4Frame(protocol number: UInt8, source: [UInt8], destination: [UInt8], ports: (UInt16, UInt16),
                          fragmentOffset: UInt16 = 0) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14) + [0x45, 0, 0, 28, 0, 0] + [UInt8(fragmentOffset >> 8), UInt8(fragmentOffset & 0xFF)]
        frame[12] = 0x08
        frame += [64, number, 0, 0] + source + destination
        frame += [UInt8(ports.0 >> 8), UInt8(ports.0 & 0xFF), UInt8(ports.1 >> 8), UInt8(ports.1 & 0xFF), 0, 0, 0, 0]
        return frame
    }

    static func arpFrame(sender: [UInt8], target: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 14)
        frame[12] = 0x08
        frame[13] = 0x06
        frame += [0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 2, count: 6) + sender + [UInt8](repeating: 0, count: 6) + target
        return frame
    }

    func passes(_ text: String, _ frame: [UInt8]) throws -> Bool {
        let filter = try CaptureFilter(parsing: text)
        return frame.withUnsafeBytes { filter.matches(frame: $0) }
    }

    let udp = ipv4Frame(protocol: 17, source: [10, 0, 0, 1], destination: [10, 0, 0, 2], ports: (5000, 7))
    let tcp = ipv4Frame(protocol: 6, source: [10, 0, 0, 2], destination: [10, 0, 0, 9], ports: (7, 40000))
    let icmp = ipv4Frame(protocol: 1, source: [10, 0, 0, 1], destination: [10, 0, 0, 2], ports: (0x0800, 0))
    let arp = arpFrame(sender: [10, 0, 0, 1], target: [10, 0, 0, 2])

    @Test("protocols")
    func protocols() throws {
        #expect(try passes("udp", udp) && !passes("udp", tcp) && !passes("udp", arp))
        #expect(try passes("tcp", tcp) && !passes("tcp", icmp))
        #expect(try passes("icmp", icmp) && !passes("icmp", udp))
        #expect(try passes("arp", arp) && !passes("arp", udp))
        #expect(try passes("ip", udp) && !passes("ip", arp))
        #expect(try passes("", arp) && passes("", udp))
    }

    @Test("hosts and ports, either side or one")
    func hostsAndPorts() throws {
        #expect(try passes("host 10.0.0.2", udp) && passes("host 10.0.0.2", tcp) && !passes("host 10.0.0.3", udp))
        #expect(try passes("src host 10.0.0.1", udp) && !passes("dst host 10.0.0.1", udp))
        #expect(try passes("host 10.0.0.1", arp) && passes("dst host 10.0.0.2", arp))
        #expect(try passes("port 7", udp) && passes("port 7", tcp) && !passes("port 8", udp))
        #expect(try passes("dst port 7", udp) && !passes("dst port 7", tcp) && passes("src port 7", tcp))
        #expect(try !passes("port 2048", icmp))   // ICMP has no ports
        #expect(try !passes("port 7", arp))
    }

    @Test("a later fragment has no ports")
    func fragments() throws {
        let later = Self.ipv4Frame(protocol: 17, source: [10, 0, 0, 1], destination: [10, 0, 0, 2], ports: (5000, 7), fragmentOffset: 10)
        #expect(try passes("udp", later) && !passes("port 7", later))
    }

    @Test("and, or, not, parentheses and the symbol spellings")
    func combinations() throws {
        #expect(try passes("udp and port 7", udp) && !passes("udp and port 7", tcp))
        #expect(try passes("udp or tcp", tcp) && !passes("udp or tcp", arp))
        #expect(try passes("not arp", udp) && !passes("not arp", arp))
        #expect(try passes("host 10.0.0.9 or udp and port 7", udp))   // and binds tighter
        #expect(try !passes("(host 10.0.0.9 or udp) and port 8", udp))
        #expect(try passes("!(tcp) && (port 7 || arp)", udp))
        #expect(try passes("TCP AND PORT 7", tcp))
    }

    @Test("short and odd frames do not match ports and do not crash")
    func shortFrames() throws {
        for length in 0..<udp.count {
            let frame = Array(udp.prefix(length))
            _ = try passes("port 7 or host 10.0.0.1 or arp", frame)
        }
        #expect(try !passes("port 7", Array(udp.prefix(35))))
    }

    @Test("errors say where and what", arguments: [
        ("host", "expected an address"), ("host 10.0.0", "is not an IPv4 address"), ("port 70000", "is not a port number"),
        ("tcp and", "found the end"), ("udp tcp", "unexpected 'tcp'"), ("(udp", "')'"), ("src tcp", "expected host or port"),
        ("hots 1.2.3.4", "unknown primitive 'hots'"), ("and", "unknown primitive 'and'"),
    ])
    func errors(text: String, message: String) {
        do {
            _ = try CaptureFilter(parsing: text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
