import Capture
import Foundation
import Packets
import Stack
import Testing
import Wire

/// The stack's capture hook: what a stack with a capture attached records
/// (both directions, before parsing and before the device), and that it
/// lets go of a capture that ended.
@Suite struct CaptureHookTests {
    @Test func aStackRecordsWhatItSendsAndReceivesAndLetsGoAtTheEnd() throws {
        let net = try TwoStacks()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString).pcapng").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = try CaptureSession(configuration: CaptureConfiguration(), portNames: ["loopback 0"], path: path)
        net.a.capture = session.makeCore()
        let server = try net.b.udpBind(port: 7)
        let client = try net.a.udpBind(port: 0)
        let payload = [UInt8](repeating: 0x5A, count: 100)
        try payload.withUnsafeBytes { try net.a.udpSend(client, bytes: $0, to: (TwoStacks.addressB, 7)) }
        var echoed = false
        #expect(net.pump(until: {
            if let datagram = try? net.b.udpReceive(server) {
                try? net.b.udpSend(server, datagram.payload, to: (datagram.source, datagram.sourcePort))
            }
            if let reply = try? net.a.udpReceive(client) {
                reply.payload.free()
                echoed = true
            }
            return echoed
        }))
        session.stop()
        net.a.poll()
        #expect(net.a.capture == nil)
        let summary = session.wait()
        #expect(summary.packets == 4 && summary.dropped == 0)
        let file = try PcapngFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        // ARP request out, reply in, the datagram out, the echo in: whole frames, as on the wire.
        #expect(file.packets.map(\.flags) == [2, 1, 2, 1])
        #expect(file.packets.map { UInt16($0.data[12]) << 8 | UInt16($0.data[13]) } == [0x0806, 0x0806, 0x0800, 0x0800])
        #expect(file.packets[2].data.count == 14 + 20 + 8 + 100)
        #expect(Array(file.packets[3].data.suffix(100)) == payload)
        #expect(file.packets.allSatisfy { $0.interface == 0 })
    }
}
