import E1000
import NetDevice
import Packets
import Platform
import Wire

/// A started driver over a fresh model, with a pool of anonymous memory.
struct E1000Fixture {
    let model: E1000Model
    let device: E1000Device
    let pool: PacketPool

    init(
        ringSize: Int = 64, transmitRingSize: Int? = nil, poolCapacity: Int = 512, dataRoom: Int = 2048,
        configure: (E1000Model) -> Void = { _ in }, start: Bool = true
    ) throws {
        model = E1000Model()
        configure(model)
        model.powerOn()
        device = try E1000Device(backend: model)
        pool = try PacketPool(
            name: "e1000-test", capacity: poolCapacity, dataRoomSize: dataRoom, cacheSize: 0,
            policy: .anonymous, iovaMode: .virtual)
        try device.configure(PortConfiguration(
            receiveRingSize: ringSize, transmitRingSize: transmitRingSize ?? ringSize, receivePools: [pool],
            transmitOffloads: [.txIPv4, .txIPChecksum, .txTCPChecksum, .txUDPChecksum, .txTCPSegmentation]))
        if start { try device.start() }
    }

    /// Receives until `expected` packets came or nothing more arrives.
    func receiveAll(burst: Int = 32) -> [PacketBuffer] {
        var result = [PacketBuffer]()
        let buffer = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: burst)
        defer { buffer.deallocate() }
        while true {
            let n = device.receive(queue: 0, into: buffer)
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// Sends `packets` in one burst; returns how many the driver took.
    func transmit(_ packets: [PacketBuffer]) -> Int {
        var copy = packets
        return copy.withUnsafeMutableBufferPointer { device.transmit(queue: 0, $0) }
    }

    func packet(_ bytes: [UInt8]) -> PacketBuffer {
        let buffer = pool.allocate()!
        buffer.setContents(bytes)
        return buffer
    }
}

enum Frames {
    static let deviceMAC: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    static let peerMAC: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01]

    /// An Ethernet frame to `destination` of `length` bytes with a counting payload.
    static func ethernet(length: Int, to destination: [UInt8] = deviceMAC, seed: Int = 0) -> [UInt8] {
        var frame = destination + peerMAC + [0x88, 0xB5]
        while frame.count < length { frame.append(UInt8(truncatingIfNeeded: frame.count &+ seed)) }
        return frame
    }

    /// An IPv4 frame carrying UDP (17) or TCP (6) with zeroed checksums.
    static func ipv4(protocolNumber: UInt8, payload: Int, to destination: [UInt8] = peerMAC) -> [UInt8] {
        let l4Header = protocolNumber == 6 ? 20 : 8
        let total = 20 + l4Header + payload
        var frame = destination + deviceMAC + [0x08, 0x00]
        frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, 64, protocolNumber, 0, 0,
                  10, 0, 0, 2, 10, 0, 0, 1]
        if protocolNumber == 6 {
            frame += [0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]
        } else {
            let udpLength = 8 + payload
            frame += [0x30, 0x39, 0x00, 0x35, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        }
        for i in 0..<payload { frame.append(UInt8(truncatingIfNeeded: i * 7 + 3)) }
        return frame
    }

    /// One's complement sum over `bytes` (folded, not complemented).
    static func sum(_ bytes: ArraySlice<UInt8>, initial: UInt32 = 0) -> UInt16 {
        Array(bytes).withUnsafeBytes { UInt16(InternetChecksum.sum($0, initial: initial)) }
    }

    /// True when the IPv4 header checksum of `frame` verifies.
    static func ipChecksumValid(_ frame: [UInt8]) -> Bool {
        sum(frame[14..<34]) == 0xffff
    }

    /// True when the TCP/UDP checksum (with the pseudo header) verifies.
    static func l4ChecksumValid(_ frame: [UInt8]) -> Bool {
        let total = Int(frame[16]) << 8 | Int(frame[17])
        let l4Length = total - 20
        var pseudo = UInt32(frame[23]) + UInt32(l4Length)
        pseudo += UInt32(sum(frame[26..<34]))
        return sum(frame[34..<(14 + total)], initial: pseudo) == 0xffff
    }
}

func freeAll(_ packets: [PacketBuffer]) {
    for packet in packets { packet.free() }
}
