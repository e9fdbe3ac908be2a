import NetDevice
import Packets
import Platform
@testable import VirtioNet

/// A started virtio port over the software model.
struct VirtioTestHarness {
    let model: SoftwareVirtioNetDevice
    let function: SoftwarePCIFunction
    let port: VirtioNetDevice
    let pool: PacketPool

    init(
        _ setup: SoftwareVirtioNetDevice.Setup = .init(), options: VirtioNetOptions = .init(),
        queues: Int = 1, ringSize: Int = 256, dataRoom: Int = 2048, poolSize: Int = 2048,
        receiveOffloads: OffloadFlags = [], transmitOffloads: OffloadFlags = [], start: Bool = true,
        receiveSideScaling: RSSSettings? = nil
    ) throws {
        model = SoftwareVirtioNetDevice(setup)
        function = SoftwarePCIFunction(model)
        port = try VirtioNetDevice(function: function, options: options)
        pool = try PacketPool(name: "virtio-test", capacity: poolSize, dataRoomSize: dataRoom, headroom: 128,
                              cacheSize: 0, policy: .anonymous, iovaMode: .virtual)
        var configuration = PortConfiguration(
            receiveQueues: queues, transmitQueues: queues, receiveRingSize: ringSize, transmitRingSize: ringSize,
            receivePools: [pool], receiveOffloads: receiveOffloads, transmitOffloads: transmitOffloads)
        configuration.receiveSideScaling = receiveSideScaling
        try port.configure(configuration)
        if start { try port.start() }
    }

    /// Receives until `expected` packets came or nothing more arrives.
    func receiveAll(queue: Int = 0, expected: Int, burst: Int = 32) -> [PacketBuffer] {
        var result = [PacketBuffer]()
        let buffer = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: burst)
        defer { buffer.deallocate() }
        while result.count < expected {
            let n = port.receive(queue: queue, into: buffer)
            if n == 0 { break }
            result += buffer.prefix(n)
        }
        return result
    }

    /// Sends `frames` as packets from the pool; returns how many the port took.
    @discardableResult
    func send(_ frames: [[UInt8]], queue: Int = 0, prepare: (PacketBuffer) -> Void = { _ in }) -> Int {
        let buffer = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: frames.count)
        defer { buffer.deallocate() }
        for (i, frame) in frames.enumerated() {
            let packet = pool.allocate()!
            packet.setContents(frame)
            prepare(packet)
            buffer[i] = packet
        }
        let taken = port.transmit(queue: queue, buffer)
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: buffer[taken...]))
        return taken
    }
}

/// An Ethernet frame of `length` bytes with a recognisable payload.
func makeTestFrame(_ length: Int, seed: Int) -> [UInt8] {
    var bytes: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]
    for i in bytes.count..<length { bytes.append(UInt8(truncatingIfNeeded: i &* 7 &+ seed)) }
    return Array(bytes.prefix(length))
}
