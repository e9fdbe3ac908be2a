import LoopbackDriver
import NetDevice
import Packets
import Testing
import Wire

@Suite struct LoopbackTests {
    let pool: PacketPool
    let pair: LoopbackPair

    init() throws {
        pool = try PacketPool(name: "loopback-test", capacity: 256, cacheSize: 0, policy: .anonymous)
        pair = try LoopbackPair(ringSize: 64)
        for port in [pair.first, pair.second] {
            try port.configure(PortConfiguration(receivePools: [pool]))
            try port.start()
        }
    }

    func frame(_ marker: UInt8, length: Int = 60) -> PacketBuffer {
        let packet = pool.allocate()!
        packet.setContents([UInt8](repeating: marker, count: length))
        return packet
    }

    func send(_ markers: [UInt8], from port: LoopbackPort) -> Int {
        var packets = markers.map { frame($0) }
        let n = packets.withUnsafeMutableBufferPointer { port.transmit(queue: 0, $0) }
        for packet in packets[n...] { packet.free() }
        return n
    }

    func receiveMarkers(on port: LoopbackPort) -> [UInt8] {
        var slots = [PacketBuffer](repeating: PacketBuffer(header: .init(bitPattern: 1)!), count: 64)
        let n = slots.withUnsafeMutableBufferPointer { port.receive(queue: 0, into: $0) }
        defer { for packet in slots[..<n] { packet.free() } }
        return slots[..<n].map { $0.contents()[0] }
    }

    @Test func framesCrossInBothDirections() {
        #expect(send([1, 2, 3], from: pair.first) == 3)
        #expect(send([9], from: pair.second) == 1)
        #expect(receiveMarkers(on: pair.second) == [1, 2, 3])
        #expect(receiveMarkers(on: pair.first) == [9])
        #expect(pair.first.statistics().transmittedPackets == 3)
        #expect(pair.second.statistics().receivedPackets == 3)
        #expect(pool.statistics.available == pool.capacity)
    }

    @Test func fullRingTakesAPrefix() {
        let markers = [UInt8](repeating: 7, count: 70)
        #expect(send(markers, from: pair.first) == 64)
        #expect(receiveMarkers(on: pair.second).count == 64)
        #expect(pool.statistics.available == pool.capacity)
    }

    @Test func impairmentDropsDuplicatesAndReorders() {
        pair.first.impairment = LoopbackImpairment(pattern: [.pass, .drop, .duplicate, .reorder, .pass])
        #expect(send([1, 2, 3, 4, 5], from: pair.first) == 5)
        #expect(receiveMarkers(on: pair.second) == [1, 3, 3, 5, 4])
        let extended = pair.first.statistics().extended
        #expect(extended["impaired_dropped"] == 1)
        #expect(extended["impaired_duplicated"] == 1)
        #expect(extended["impaired_reordered"] == 1)
        #expect(pool.statistics.available == pool.capacity)
    }

    @Test func stopFreesFramesInFlight() {
        #expect(send([1, 2], from: pair.first) == 2)
        pair.second.stop()
        #expect(pool.statistics.available == pool.capacity)
        #expect(send([3], from: pair.first) == 0)
    }
}
