import NetDevice
import Packets
import Wire

/// Receive-side scaling in software, for a port with fewer queues than
/// cores (e1000 has one; a tap has one): the core that owns the device's
/// queue 0 receives every frame, hashes it as a NIC would (Toeplitz over
/// the IPv4 2- or 4-tuple and the TCP/UDP over IPv6 4-tuple, `FlowKey`)
/// and hands it through a ring to the
/// core its redirection-table entry names; other cores transmit through
/// rings the owner drains into the device. Each core sees a `SteeredQueue`,
/// an ordinary NetDevice, so its stack does not know it is steered
/// (Seastar does the same; F-Stack needs a queue per core).
///
/// Rings are single-producer single-consumer and bounded: a full ring
/// drops (receive, counted) or pushes back (transmit takes fewer, as a
/// full device ring does). ARP requests go to queue 0 (one core answers
/// for the shared address); ARP replies and NDP neighbour advertisements
/// are copied to every queue, so each core's ARP and neighbour caches
/// learn what its own requests asked.
public final class SoftwareSteering: @unchecked Sendable {
    public let device: any NetDevice
    public let toeplitz: ToeplitzHash
    public let table: RSSRedirectionTable
    /// Where copies of ARP replies come from.
    let pool: PacketPool
    let receiveRings: [Ring<PacketBuffer>]
    let transmitRings: [Ring<PacketBuffer>]
    /// The owner's scratch: a receive burst, per-queue staging, transmits waiting for the device.
    let burst: UnsafeMutableBufferPointer<PacketBuffer>
    let staged: [UnsafeMutableBufferPointer<PacketBuffer>]
    var stagedCounts: [Int]
    let pendingTransmit: UnsafeMutableBufferPointer<PacketBuffer>
    var pendingCount = 0
    /// Per-queue counters, each written by one thread (see SteeringCounters).
    let counters: UnsafeMutablePointer<SteeringCounters>

    static let burstSize = 32

    /// Steers `device` (configured and started, queue 0) over `queueCount`
    /// queues. `ringSize` bounds each core's receive and transmit ring.
    public init(device: any NetDevice, queues queueCount: Int, pool: PacketPool, ringSize: Int = 1024,
                toeplitz: ToeplitzHash? = nil) throws(DeviceError) {
        guard queueCount >= 1, let table = RSSRedirectionTable(queues: queueCount, entryCount: max(128, queueCount.nextPowerOfTwo)) else {
            throw DeviceError(.invalidConfiguration, "software steering over \(queueCount) queues: use 1 or more")
        }
        self.device = device
        self.toeplitz = toeplitz ?? ToeplitzHash()!
        self.table = table
        self.pool = pool
        do {
            receiveRings = try (0..<queueCount).map { _ in try Ring<PacketBuffer>(capacity: ringSize, producers: .single, consumers: .single) }
            transmitRings = try (0..<queueCount).map { _ in try Ring<PacketBuffer>(capacity: ringSize, producers: .single, consumers: .single) }
        } catch {
            throw DeviceError(.invalidConfiguration, "steering rings of \(ringSize): \(error)")
        }
        burst = .allocate(capacity: Self.burstSize)
        staged = (0..<queueCount).map { _ in .allocate(capacity: Self.burstSize) }
        stagedCounts = Array(repeating: 0, count: queueCount)
        pendingTransmit = .allocate(capacity: Self.burstSize)
        counters = .allocate(capacity: queueCount)
        counters.initialize(repeating: SteeringCounters(), count: queueCount)
    }

    deinit {
        for ring in receiveRings + transmitRings { while let packet = ring.dequeue() { packet.free() } }
        for (index, buffer) in staged.enumerated() {
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: buffer[0..<stagedCounts[index]]))
            buffer.deallocate()
        }
        PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: pendingTransmit[0..<pendingCount]))
        burst.deallocate()
        pendingTransmit.deallocate()
        counters.deallocate()
    }

    public var queueCount: Int { receiveRings.count }

    /// Core `index`'s view of the port. It keeps the steering alive (a stack
    /// may outlive the program's own reference to it, as at exit), and holds
    /// no state of its own: the rings and counters are the steering's.
    public func queue(_ index: Int) -> SteeredQueue {
        precondition(index >= 0 && index < queueCount, "steered queue \(index) of \(queueCount)")
        return SteeredQueue(steering: self, index: index)
    }

    /// A snapshot of one queue's counters.
    public func counters(ofQueue queue: Int) -> SteeringCounters { counters[queue] }

    // MARK: The owner's work (queue 0's core, inside its receive call)

    /// Sends what other cores queued, then receives one burst from the
    /// device and spreads it over the queues. Returns the frames received.
    @discardableResult
    func pump() -> Int {
        drainTransmitRings()
        let count = device.receive(queue: 0, into: burst)
        for i in 0..<count { steer(burst[i]) }
        for queue in 0..<queueCount where stagedCounts[queue] > 0 { flushStaged(queue) }
        return count
    }

    @inline(__always)
    private func steer(_ packet: PacketBuffer) {
        let key = FlowKey(frame: packet.bytes)
        if let hash = key.hash(toeplitz) {
            packet.rssHash = hash
            stage(packet, on: table.queue(for: hash))
        } else if key.isNeighborAnswer, queueCount > 1 {
            for queue in 1..<queueCount {
                guard let copy = packet.copy(into: pool) else {
                    counters[queue].copyFailures += 1
                    continue
                }
                stage(copy, on: queue)
            }
            stage(packet, on: 0)
        } else {
            stage(packet, on: 0)
        }
    }

    @inline(__always)
    private func stage(_ packet: PacketBuffer, on queue: Int) {
        if stagedCounts[queue] == Self.burstSize { flushStaged(queue) }
        staged[queue][stagedCounts[queue]] = packet
        stagedCounts[queue] += 1
    }

    /// Hands a queue's staged frames to its ring; what does not fit is dropped and counted.
    private func flushStaged(_ queue: Int) {
        let count = stagedCounts[queue]
        let frames = UnsafeMutableBufferPointer(rebasing: staged[queue][0..<count])
        let taken = receiveRings[queue].enqueue(burst: UnsafeBufferPointer(frames))
        counters[queue].steered += UInt64(taken)
        if taken < count {
            counters[queue].receiveRingFull += UInt64(count - taken)
            PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: frames[taken..<count]))
        }
        stagedCounts[queue] = 0
    }

    /// Moves other cores' frames to the device, keeping what it refuses for the next turn.
    private func drainTransmitRings() {
        flushPendingTransmit()
        for queue in 1..<max(queueCount, 1) where pendingCount == 0 {
            let room = UnsafeMutableBufferPointer(rebasing: pendingTransmit[0..<Self.burstSize])
            pendingCount = transmitRings[queue].dequeue(burst: room)
            flushPendingTransmit()
        }
    }

    private func flushPendingTransmit() {
        guard pendingCount > 0 else { return }
        let sent = device.transmit(queue: 0, UnsafeMutableBufferPointer(rebasing: pendingTransmit[0..<pendingCount]))
        if sent < pendingCount {
            // Keep the rest in order at the front for the next turn.
            for i in sent..<pendingCount { pendingTransmit[i - sent] = pendingTransmit[i] }
        }
        pendingCount -= sent
    }
}

/// What the steering did for one queue. Steering counters are written by
/// the owner core; `delivered` and `transmitted` by the queue's own core.
public struct SteeringCounters: Sendable {
    /// Frames handed to this queue's ring.
    public var steered: UInt64 = 0
    /// Frames dropped because this queue's receive ring was full.
    public var receiveRingFull: UInt64 = 0
    /// ARP replies not copied to this queue (no buffer).
    public var copyFailures: UInt64 = 0
    /// Frames this queue's core took from its ring.
    public var delivered: UInt64 = 0
    /// Frames this queue's core queued for transmission.
    public var transmitted: UInt64 = 0
    /// Frames the transmit ring refused (the caller kept them).
    public var transmitRingFull: UInt64 = 0
}

extension Int {
    /// The smallest power of two at least this large.
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
