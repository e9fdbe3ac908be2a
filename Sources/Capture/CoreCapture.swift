import Atomics
import Packets
import Platform

/// One core's side of a capture: the stack hands it each burst it
/// receives or transmits (only while it is attached, so a stack without a
/// capture pays one nil check per burst), and it appends an Enhanced
/// Packet Block per packet that passes the filter to the core's ring.
/// Used only on its core's thread.
public final class CoreCapture {
    let session: CaptureSession
    let ring: CaptureRing
    let filter: CaptureFilter
    let snapLength: Int
    let limit: Int
    /// Port index per interface index of the stack; -1: not captured.
    let portOfInterface: [Int]
    /// Where a block is assembled before it is copied into the ring
    /// (which may wrap in the middle of it).
    let scratch: UnsafeMutableRawPointer
    /// Blocks dropped since the last one recorded (epb_dropcount).
    var dropsSinceRecorded: UInt64 = 0
    /// Set once this core has nothing more to record.
    public private(set) var isDone = false

    init(session: CaptureSession, ring: CaptureRing, portOfInterface: [Int]?) {
        self.session = session
        self.ring = ring
        filter = session.configuration.filter
        snapLength = session.configuration.snapLength
        limit = session.configuration.packetLimit ?? Int.max
        let ports = session.portNames.count
        let map = portOfInterface ?? Array(0..<ports)
        self.portOfInterface = map.map { port in
            port >= 0 && port < ports && (session.configuration.ports?.contains(port) ?? true) ? port : -1
        }
        scratch = .allocate(byteCount: Pcapng.enhancedPacketLength(captured: snapLength, withDrops: true), alignment: 16)
    }

    deinit {
        scratch.deallocate()
        letGo()
    }

    /// Once per poll turn: true while the capture goes on; false once it
    /// ended (the core lets go of its ring and should drop this object).
    @inline(__always)
    public func continues() -> Bool {
        if isDone || session.stopRequested.load(ordering: .relaxed) {
            letGo()
            return false
        }
        return true
    }

    func letGo() {
        guard !ring.detached.load(ordering: .relaxed) else { return }
        isDone = true
        ring.detached.store(true, ordering: .releasing)
    }

    /// Records the first `count` frames of `frames`, seen on the stack's
    /// interface `interface` going `direction`. Reads the packets, changes nothing.
    public func record(_ frames: UnsafeMutableBufferPointer<PacketBuffer>, count: Int, interface: Int,
                       direction: Pcapng.Direction) {
        guard !isDone, interface < portOfInterface.count else { return }
        let port = portOfInterface[interface]
        guard port >= 0 else { return }
        let stamp = session.baseNanoseconds + session.clock.nanoseconds(fromCycles: TSCClock.cycles() &- session.baseCycles)
        for i in 0..<count {
            let packet = frames[i]
            guard filter.matches(frame: UnsafeRawBufferPointer(packet.bytes)) else { continue }
            let taken = session.taken.wrappingIncrementThenLoad(ordering: .relaxed)
            if taken > limit {
                isDone = true
                session.stop()
                return
            }
            ring.seenPerPort[port] += 1
            let captured = min(snapLength, packet.packetLength)
            let length = Pcapng.enhancedPacketLength(captured: captured, withDrops: dropsSinceRecorded > 0)
            guard ring.hasRoom(for: length) else {
                dropsSinceRecorded += 1
                ring.droppedPerPort[port] += 1
                ring.dropped.wrappingIncrement(ordering: .relaxed)
                if taken == limit {
                    isDone = true
                    session.stop()
                    return
                }
                continue
            }
            _ = Pcapng.writeEnhancedPacket(
                at: scratch, interface: UInt32(port), nanoseconds: stamp, captured: captured,
                original: packet.packetLength, direction: direction, drops: dropsSinceRecorded
            ) { destination in
                _ = packet.copyBytes(from: 0, count: captured, to: destination)
            }
            ring.append(scratch, count: length)
            ring.recorded.wrappingIncrement(ordering: .relaxed)
            dropsSinceRecorded = 0
            if taken == limit {
                isDone = true
                session.stop()
                return
            }
        }
    }
}
