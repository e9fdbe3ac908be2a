import Foundation
import NetDevice
import Packets
import TapDriver
import Testing
import TestSupport
import Wire

@Suite(.enabled(if: Command.isRoot, "tap devices and network namespaces need root"))
struct TapTests {
    /// The kernel in a namespace of the test's own resolves an address
    /// behind the tap: its ARP requests arrive here, and a reply written
    /// here makes its neighbour entry reachable.
    @Test func exchangesFramesWithTheKernel() throws {
        let namespace = try NetworkNamespace()
        let pool = try PacketPool(name: "tap-test", capacity: 256, cacheSize: 0, policy: .anonymous)
        let ourMAC = MACAddress(0x02, 0x64, 0, 0, 0, 2)
        let device = try namespace.withThreadInside { () throws -> TapDevice in
            let device = try TapDevice(name: "dptap0", macAddress: ourMAC)
            try device.configure(PortConfiguration(receivePools: [pool]))
            try device.start()
            return device
        }
        defer { device.stop() }
        #expect(namespace.exec(["ip", "addr", "add", "10.77.0.1/24", "dev", "dptap0"]).succeeded)
        let kernelMAC = MACAddress(namespace.exec(["cat", "/sys/class/net/dptap0/address"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines))!

        // The kernel asks who has 10.77.0.2 when something is sent there.
        namespace.exec(["sh", "-c", "ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1 &"])
        var slots = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 1)!), count: 16)
        var request: [UInt8]?
        let deadline = Date().addingTimeInterval(3)
        while request == nil && Date() < deadline {
            let n = slots.withUnsafeMutableBufferPointer { device.receive(queue: 0, into: $0) }
            for packet in slots[..<n] {
                let bytes = packet.contents()
                if bytes.count >= 42, bytes[12] == 0x08, bytes[13] == 0x06, Array(bytes[38..<42]) == [10, 77, 0, 2] {
                    request = bytes
                }
                packet.free()
            }
            if n == 0 { usleep(1000) }
        }
        #expect(request != nil, "no ARP request for 10.77.0.2 came out of the tap")

        // Answer it by hand: 10.77.0.2 is at ourMAC.
        var reply = [UInt8]()
        func mac(_ m: MACAddress) -> [UInt8] { [m.bytes.0, m.bytes.1, m.bytes.2, m.bytes.3, m.bytes.4, m.bytes.5] }
        reply += mac(kernelMAC) + mac(ourMAC) + [0x08, 0x06]
        reply += [0, 1, 8, 0, 6, 4, 0, 2] + mac(ourMAC) + [10, 77, 0, 2] + mac(kernelMAC) + [10, 77, 0, 1]
        reply += [UInt8](repeating: 0, count: 18)
        let packet = pool.allocate()!
        packet.setContents(reply)
        var burst = [packet]
        let sent = burst.withUnsafeMutableBufferPointer { device.transmit(queue: 0, $0) }
        #expect(sent == 1)
        #expect(device.statistics().transmittedPackets == 1)
        var neighbour = ""
        for _ in 0..<50 {
            neighbour = namespace.exec(["ip", "neigh", "show", "10.77.0.2", "dev", "dptap0"]).output
            if neighbour.contains(ourMAC.description) { break }
            usleep(20_000)
        }
        #expect(neighbour.contains(ourMAC.description), "kernel neighbour entry: \(neighbour)")
        #expect(pool.statistics.available >= pool.capacity - 1)
    }

    @Test func rejectsAnInvalidName() {
        #expect(throws: DeviceError.self) { try TapDevice(name: "a-name-that-is-far-too-long") }
    }
}
