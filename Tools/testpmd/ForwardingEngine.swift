import Atomics
import CPlatform
import NetDevice
import Packets
import Platform
import Wire

/// One stream: packets received on `receivePort`'s queue `queue` go out on
/// `transmitPort`'s queue of the same number; txonly streams only transmit.
/// Each queue pair of a port is a stream of its own, so with `--rxq N` the
/// cores each own their queues (one queue, one core: no locks).
struct Stream {
    let receivePort: Int
    let transmitPort: Int
    var queue = 0
}

/// What every forwarding core shares: the ports, the streams, the stop flag
/// and the counters. Read-only once the cores run, except the counters (one
/// writer each) and the flags.
final class ForwardingEngine: @unchecked Sendable {
    let mode: ForwardingMode
    let ports: [any NetDevice]
    let streams: [Stream]
    let coreCount: Int
    let burstSize: Int
    let pool: PacketPool
    /// txonly: frames per port (nil: until stopped) and packets per second per port (nil: as fast as possible).
    let transmitLimit: UInt64?
    let transmitRate: UInt64?
    let templates: [FrameTemplates]
    let checksumsByDevice: Bool
    let counters: StreamCounters
    let stopRequested = ManagedAtomic<Bool>(false)
    let finishedCores = ManagedAtomic<Int>(0)

    init(
        mode: ForwardingMode, ports: [any NetDevice], queues: Int = 1, coreCount: Int, burstSize: Int, pool: PacketPool,
        transmitLimit: UInt64?, transmitRate: UInt64?, templates: [FrameTemplates], checksumsByDevice: Bool
    ) {
        self.mode = mode
        self.ports = ports
        self.coreCount = coreCount
        self.burstSize = burstSize
        self.pool = pool
        self.transmitLimit = transmitLimit
        self.transmitRate = transmitRate
        self.templates = templates
        self.checksumsByDevice = checksumsByDevice
        streams = Self.streams(mode: mode, portCount: ports.count, queues: queues)
        counters = StreamCounters(count: streams.count)
    }

    /// Ports pair up 0<->1, 2<->3 (a lone last port talks to itself); one
    /// stream per queue pair, port-major, so that with as many cores as
    /// queues core k polls queue k of every port (cores take every
    /// `coreCount`-th stream).
    static func streams(mode: ForwardingMode, portCount: Int, queues: Int = 1) -> [Stream] {
        (0..<portCount).flatMap { port in
            (0..<queues).map { queue in
                let peer = port ^ 1 < portCount ? port ^ 1 : port
                return Stream(receivePort: port, transmitPort: mode == .io || mode == .macswap ? peer : port, queue: queue)
            }
        }
    }

    func streamIndexes(ofCore core: Int) -> [Int] {
        Array(stride(from: core, to: streams.count, by: coreCount))
    }

    /// The loop of forwarding core `core`, until stopped (or, in txonly
    /// with a limit, until every stream sent its frames).
    func run(core: Int) {
        let mine = streamIndexes(ofCore: core)
        let burst = UnsafeMutableBufferPointer<PacketBuffer>.allocate(capacity: burstSize)
        defer {
            burst.deallocate()
            pool.flushCurrentCoreCache()
            finishedCores.wrappingIncrement(ordering: .releasing)
        }
        guard !mine.isEmpty else { return }
        switch mode {
        case .io, .macswap: forward(mine, burst: burst, swapMAC: mode == .macswap)
        case .rxonly: receiveOnly(mine, burst: burst)
        case .txonly: transmitOnly(mine, burst: burst)
        }
    }

    private func forward(_ mine: [Int], burst: UnsafeMutableBufferPointer<PacketBuffer>, swapMAC: Bool) {
        let work = mine.map { (counter: counters.storage + $0, rx: ports[streams[$0].receivePort], tx: ports[streams[$0].transmitPort],
                               queue: streams[$0].queue) }
        while !stopRequested.load(ordering: .relaxed) {
            for stream in work {
                let received = stream.rx.receive(queue: stream.queue, into: burst)
                stream.counter.pointee.bursts &+= 1
                if received == 0 {
                    stream.counter.pointee.emptyBursts &+= 1
                    continue
                }
                var bytes = 0
                for i in 0..<received {
                    let packet = burst[i]
                    bytes &+= packet.packetLength
                    if swapMAC { Self.swapAddresses(packet.data) }
                }
                stream.counter.pointee.receivedPackets &+= UInt64(received)
                stream.counter.pointee.receivedBytes &+= UInt64(bytes)
                let sent = stream.tx.transmit(queue: stream.queue, UnsafeMutableBufferPointer(rebasing: burst[0..<received]))
                if sent < received {
                    var dropped = 0
                    for i in sent..<received { dropped &+= burst[i].packetLength }
                    PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[sent..<received]))
                    stream.counter.pointee.transmitDropped &+= UInt64(received &- sent)
                    bytes &-= dropped
                }
                stream.counter.pointee.transmittedPackets &+= UInt64(sent)
                stream.counter.pointee.transmittedBytes &+= UInt64(bytes)
            }
        }
    }

    @inline(__always)
    static func swapAddresses(_ frame: UnsafeMutableRawPointer) {
        let destination = frame.loadUnaligned(as: UInt32.self)
        let destinationTail = frame.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        let source = frame.loadUnaligned(fromByteOffset: 6, as: UInt32.self)
        let sourceTail = frame.loadUnaligned(fromByteOffset: 10, as: UInt16.self)
        frame.storeBytes(of: source, as: UInt32.self)
        frame.storeBytes(of: sourceTail, toByteOffset: 4, as: UInt16.self)
        frame.storeBytes(of: destination, toByteOffset: 6, as: UInt32.self)
        frame.storeBytes(of: destinationTail, toByteOffset: 10, as: UInt16.self)
    }

    private func receiveOnly(_ mine: [Int], burst: UnsafeMutableBufferPointer<PacketBuffer>) {
        let work = mine.map { (counter: counters.storage + $0, rx: ports[streams[$0].receivePort], queue: streams[$0].queue) }
        while !stopRequested.load(ordering: .relaxed) {
            for stream in work {
                let received = stream.rx.receive(queue: stream.queue, into: burst)
                stream.counter.pointee.bursts &+= 1
                if received == 0 {
                    stream.counter.pointee.emptyBursts &+= 1
                    continue
                }
                var bytes = 0
                for i in 0..<received { bytes &+= burst[i].packetLength }
                stream.counter.pointee.receivedPackets &+= UInt64(received)
                stream.counter.pointee.receivedBytes &+= UInt64(bytes)
                PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[0..<received]))
            }
        }
    }

    private func transmitOnly(_ mine: [Int], burst: UnsafeMutableBufferPointer<PacketBuffer>) {
        // Templates in one block per stream: frame f at f * size.
        struct Work {
            let counter: UnsafeMutablePointer<StreamCounter>
            let tx: any NetDevice
            let queue: Int
            let frames: UnsafeMutableRawPointer
            let flows: Int
            let size: Int
            var nextFlow = 0
        }
        var work = mine.map { index -> Work in
            let template = templates[streams[index].transmitPort]
            let block = UnsafeMutableRawPointer.allocate(byteCount: template.frames.count * template.frameSize, alignment: 64)
            for (flow, frame) in template.frames.enumerated() {
                frame.withUnsafeBytes { (block + flow * template.frameSize).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
            }
            return Work(counter: counters.storage + index, tx: ports[streams[index].transmitPort], queue: streams[index].queue, frames: block,
                        flows: template.frames.count, size: template.frameSize)
        }
        defer { for item in work { item.frames.deallocate() } }
        let clock = TSCClock.shared
        let start = TSCClock.cycles()
        let offload: OffloadFlags = checksumsByDevice ? [.txIPv4, .txIPChecksum, .txUDPChecksum] : []
        while !stopRequested.load(ordering: .relaxed) {
            var active = false
            for w in work.indices {
                var wanted = burstSize
                if let limit = transmitLimit {
                    guard work[w].counter.pointee.transmittedPackets < limit else { continue }
                    wanted = min(wanted, Int(limit - work[w].counter.pointee.transmittedPackets))
                }
                active = true
                if let rate = transmitRate {
                    let elapsed = TSCClock.cycles() &- start
                    let allowed = UInt64(Double(elapsed) / Double(clock.cyclesPerSecond) * Double(rate)) + 1
                    let sentSoFar = work[w].counter.pointee.transmittedPackets
                    guard allowed > sentSoFar else { continue }
                    wanted = min(wanted, Int(allowed - sentSoFar))
                }
                let packets = UnsafeMutableBufferPointer(rebasing: burst[0..<wanted])
                let got = pool.allocate(into: packets)
                guard got > 0 else { continue }
                // Locals for the per-packet loop (no array access per packet).
                let size = work[w].size
                let frames = work[w].frames
                let flows = work[w].flows
                var flow = work[w].nextFlow
                for i in 0..<got {
                    let packet = burst[i]
                    packet.data.copyMemory(from: frames + flow &* size, byteCount: size)
                    packet.header.pointee.dataLength = UInt16(truncatingIfNeeded: size)
                    packet.header.pointee.packetLength = UInt32(truncatingIfNeeded: size)
                    if checksumsByDevice {
                        packet.offloadFlags = offload
                        packet.setHeaderLengths(l2: 14, l3: 20, l4: 8)
                    }
                    flow = flow &+ 1 == flows ? 0 : flow &+ 1
                }
                let sent = work[w].tx.transmit(queue: work[w].queue, UnsafeMutableBufferPointer(rebasing: burst[0..<got]))
                work[w].counter.pointee.bursts &+= 1
                if sent < got {
                    PacketBuffer.free(UnsafeMutableBufferPointer(rebasing: burst[sent..<got]))
                    work[w].counter.pointee.emptyBursts &+= sent == 0 ? 1 : 0
                    // Not sent: the flow sequence steps back so content stays in order.
                    flow = ((flow &- (got &- sent)) % flows + flows) % flows
                }
                work[w].nextFlow = flow
                work[w].counter.pointee.transmittedPackets &+= UInt64(sent)
                work[w].counter.pointee.transmittedBytes &+= UInt64(sent &* size)
            }
            if !active { return }
        }
    }
}
