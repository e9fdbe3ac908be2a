import NetDevice
import NullDriver
import Packets
import Testing

@Suite struct NullTests {
    @Test func receiveCopiesTheTemplateAndTransmitFrees() throws {
        let pool = try PacketPool(name: "null-test", capacity: 64, cacheSize: 0, policy: .anonymous)
        let template = (0..<60).map { UInt8($0) }
        let device = try NullDevice(template: template)
        try device.configure(PortConfiguration(receivePools: [pool]))
        try device.start()
        var slots = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 1)!), count: 32)
        let n = slots.withUnsafeMutableBufferPointer { device.receive(queue: 0, into: $0) }
        #expect(n == 32)
        #expect(slots.allSatisfy { $0.contents() == template })
        #expect(pool.statistics.available == 32)
        let sent = slots.withUnsafeMutableBufferPointer { device.transmit(queue: 0, $0) }
        #expect(sent == 32)
        #expect(pool.statistics.available == 64)
        #expect(device.statistics().receivedPackets == 32)
        #expect(device.statistics().transmittedBytes == 32 * 60)
    }

    @Test func exhaustedPoolGivesFewer() throws {
        let pool = try PacketPool(name: "null-small", capacity: 8, cacheSize: 0, policy: .anonymous)
        let device = try NullDevice(template: [UInt8](repeating: 0xab, count: 64))
        try device.configure(PortConfiguration(receivePools: [pool]))
        try device.start()
        var slots = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 1)!), count: 16)
        let n = slots.withUnsafeMutableBufferPointer { device.receive(queue: 0, into: $0) }
        #expect(n == 8)
        #expect(device.statistics().receiveNoBuffer == 1)
        for packet in slots[..<n] { packet.free() }
    }

    @Test func rejectsATemplateThatIsNotAFrame() {
        #expect(throws: DeviceError.self) { try NullDevice(template: [1, 2, 3]) }
    }
}
