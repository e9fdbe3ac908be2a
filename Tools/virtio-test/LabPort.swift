import NetDevice
import Packets
import Platform
import VirtioNet
import Wire

/// One virtio port opened for the lab test, with its pool and a few
/// helpers on top of the burst calls (not a fast path: the test checks
/// counts and contents, not speed).
final class LabPort {
    let address: String
    let device: VirtioNetDevice
    let pool: PacketPool
    let burst: UnsafeMutableBufferPointer<PacketBuffer>

    init(address text: String, options: VirtioNetOptions, queues: Int, poolIndex: Int) throws {
        guard let address = PCIAddress(text) else { throw TestFailure("\(text) is not a PCI address") }
        self.address = text
        let function = try DeviceAccessVirtioFunction(address: address)
        device = try VirtioNetDevice(function: function, options: options)
        // UIO and legacy devices see physical addresses; modern devices
        // behind VFIO see IOVA = virtual address.
        let iovaMode: IOVAMode = function.isBehindIOMMU && function.deviceID == VirtioNetDevice.modernDeviceID ? .virtual : .physical
        pool = try PacketPool(name: "lab-\(poolIndex)", capacity: 4096, cacheSize: 256, policy: .hugepagesRequired, iovaMode: iovaMode)
        let ringSize = min(256, device.info.ringSizes.upperBound)
        try device.configure(PortConfiguration(
            receiveQueues: queues, transmitQueues: queues, receiveRingSize: ringSize, transmitRingSize: ringSize,
            receivePools: [pool], receiveOffloads: device.info.receiveOffloads,
            transmitOffloads: device.info.transmitOffloads, promiscuous: true))
        try device.start()
        burst = .allocate(capacity: 32)
    }

    var mac: MACAddress { device.macAddress }

    /// Sends `frames` on `queue`, retrying while the ring is full (bounded).
    func send(_ frames: [[UInt8]], queue: Int = 0, prepare: (PacketBuffer) -> Void = { _ in }) throws {
        var next = 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while next < frames.count {
            let count = min(burst.count, frames.count - next)
            let filled = pool.allocate(into: UnsafeMutableBufferPointer(rebasing: burst[..<count]))
            guard filled > 0 else { throw TestFailure("\(address): pool empty while sending") }
            for i in 0..<filled {
                burst[i].setContents(frames[next + i])
                prepare(burst[i])
            }
            let taken = device.transmit(queue: queue, UnsafeMutableBufferPointer(rebasing: burst[..<filled]))
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[taken..<filled]))
            next += taken
            guard clock.now < deadline else { throw TestFailure("\(address): transmit ring stayed full for 20 s (\(next) of \(frames.count) sent)") }
        }
    }

    func sendControl(_ text: String) throws {
        try send([TestFrames.control(text, source: mac)])
    }

    /// Receives one burst from `queue` and hands each packet to `body`,
    /// which may keep it (returns true) or let it be freed.
    @discardableResult
    func poll(queue: Int = 0, _ body: (PacketBuffer) throws -> Bool) rethrows -> Int {
        let count = device.receive(queue: queue, into: burst)
        for i in 0..<count where try !body(burst[i]) { burst[i].free() }
        return count
    }

    /// Sends `command` until the peer answers a control line starting with
    /// `reply`; returns that line. Other frames are dropped meanwhile.
    func request(_ command: String, reply: String, timeout: Duration = .seconds(20)) throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var lastSent = clock.now.advanced(by: .seconds(-1))
        while clock.now < deadline {
            if lastSent.duration(to: clock.now) > .milliseconds(300) {
                try sendControl(command)
                lastSent = clock.now
            }
            var answer: String?
            poll { packet in
                if TestFrames.etherType(packet) == TestFrames.controlType {
                    let text = TestFrames.controlText(packet.contents())
                    if text.hasPrefix(reply) { answer = text }
                }
                return false
            }
            if let answer { return answer }
        }
        throw TestFailure("\(address): no '\(reply)' from the peer within \(timeout) after '\(command)'")
    }

    func close() {
        device.stop()
        burst.deallocate()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
