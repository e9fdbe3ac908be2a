import Capture
import Foundation
import Packets
import Testing

@Suite("capture sessions")
struct CaptureSessionTests {
    static let pool = try! PacketPool(name: "capture-test", capacity: 512, cacheSize: 0, policy: .anonymous)

    /// A burst of `count` frames of `length` bytes; byte 14 holds the index.
    func burst(_ count: Int, length: Int = 100) -> UnsafeMutableBufferPointer<PacketBuffer> {
        let frames = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: count)
        for i in 0..<count {
            let packet = Self.pool.allocate()!
            var bytes = [UInt8](repeating: 0xAB, count: length)
            bytes[12] = 0x08
            bytes[13] = 0x06   // ARP, so "arp" filters pass it
            bytes[14] = UInt8(truncatingIfNeeded: i)
            _ = packet.setContents(bytes)
            frames[i] = packet
        }
        return frames
    }

    func release(_ frames: UnsafeMutableBufferPointer<PacketBuffer>) {
        PacketBuffer.free(frames)
        frames.deallocate()
    }

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("capture-\(UUID().uuidString).pcapng").path
    }

    func read(_ path: String) throws -> PcapngFile {
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try PcapngFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test("bursts both ways land in the file with snap length, directions, statistics")
    func bothWays() throws {
        let path = temporaryPath()
        let session = try CaptureSession(configuration: CaptureConfiguration(snapLength: 60), portNames: ["a", "b"], path: path)
        let core = session.makeCore()
        let frames = burst(4)
        core.record(frames, count: 4, interface: 1, direction: .inbound)
        core.record(frames, count: 2, interface: 0, direction: .outbound)
        #expect(core.continues())
        session.stop()
        #expect(!core.continues())
        let summary = session.wait()
        release(frames)
        #expect(summary.finished && summary.packets == 6 && summary.dropped == 0 && summary.error == nil)
        let file = try read(path)
        #expect(file.interfaces.map(\.name) == ["a", "b"])
        #expect(file.packets.count == 6)
        #expect(file.packets.map(\.interface) == [1, 1, 1, 1, 0, 0])
        #expect(file.packets.map(\.flags) == [1, 1, 1, 1, 2, 2])
        #expect(file.packets.allSatisfy { $0.data.count == 60 && $0.originalLength == 100 })
        #expect(file.packets.map { $0.data[14] } == [0, 1, 2, 3, 0, 1])
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        #expect(file.packets.allSatisfy { $0.nanoseconds <= now && now - $0.nanoseconds < 60_000_000_000 })
        #expect(file.statistics.map(\.received) == [2, 4])
    }

    @Test("the count limit ends the capture by itself; other ports and filtered packets are not counted")
    func countAndFilter() throws {
        let path = temporaryPath()
        let configuration = CaptureConfiguration(ports: [0], packetLimit: 5, filter: try CaptureFilter(parsing: "arp"))
        let session = try CaptureSession(configuration: configuration, portNames: ["a", "b"], path: path)
        let core = session.makeCore()
        let frames = burst(4)
        core.record(frames, count: 4, interface: 1, direction: .inbound)   // port 1: not captured
        core.record(frames, count: 4, interface: 0, direction: .inbound)
        core.record(frames, count: 4, interface: 0, direction: .inbound)
        #expect(core.isDone)
        #expect(!core.continues())
        session.wait()
        release(frames)
        let file = try read(path)
        #expect(file.packets.count == 5)
        #expect(file.statistics.count == 1)
    }

    @Test("a ring the writer cannot keep up with drops and counts, never blocks")
    func drops() throws {
        let path = temporaryPath()
        let session = try CaptureSession(configuration: CaptureConfiguration(ringBytes: 1 << 16), portNames: ["a"], path: path)
        let core = session.makeCore()
        let frames = burst(64, length: 1500)
        for _ in 0..<4 { core.record(frames, count: 64, interface: 0, direction: .inbound) }
        session.stop()
        _ = core.continues()
        let summary = session.wait()
        release(frames)
        #expect(summary.dropped > 0)
        #expect(summary.packets + summary.dropped == 256)
        let file = try read(path)
        #expect(file.packets.count == summary.packets)
        #expect(file.packets.compactMap(\.dropCount).reduce(0, +) <= UInt64(summary.dropped))
        #expect(file.statistics.first?.dropped == UInt64(summary.dropped))
    }

    @Test("bad settings are clear errors")
    func badSettings() {
        #expect(throws: CaptureError.self) { try CaptureSession(configuration: CaptureConfiguration(snapLength: 0), portNames: ["a"], path: "/tmp/x") }
        #expect(throws: CaptureError.self) { try CaptureSession(configuration: CaptureConfiguration(ports: [3]), portNames: ["a"], path: "/tmp/x") }
        #expect(throws: CaptureError.self) { try CaptureSession(configuration: CaptureConfiguration(), portNames: ["a"], path: "/nonexistent/dir/x") }
        #expect(CaptureTarget("0:/tmp/f")?.resolve(names: ["tap:dp0"]).ok == true)
        #expect(CaptureTarget("dp0:/tmp/f")?.resolve(names: ["null null0", "tap dp0"]).ports == [1])
        #expect(CaptureTarget("0000:00:10.0:/tmp/f")?.resolve(names: ["e1000 0000:00:10.0 (vfio)"]).ports == [0])
        #expect(CaptureTarget("dp9:/tmp/f")?.resolve(names: ["tap dp0"]).ok == false)
        #expect(CaptureTarget("3:/tmp/f")?.resolve(names: ["tap dp0"]).ok == false)
        #expect(CaptureTarget("nofile") == nil)
        #expect(CaptureTarget("all:/tmp/f")?.resolve(names: ["a"]).ports == nil)
    }
}
