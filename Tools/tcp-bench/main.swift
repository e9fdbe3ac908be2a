// dp-tcp-bench: the TCP state machine alone, two endpoint tables back to back
// in memory, one bulk transfer. Prints segments per second and, when run with
// the malloc interposer preloaded, mallocs per segment in steady state:
//
//   LD_PRELOAD=.build/release/libMallocInterposerC.so .build/release/dp-tcp-bench --megabytes 200
import ArgumentParser
import MallocInterposerSwift
import TCP
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Segments between the two tables: headers in a preallocated array, payloads
/// in one preallocated slab, so the harness itself allocates nothing per segment.
struct SegmentQueue {
    var headers: [TCPRepr] = []
    var sources: [IPv4Address] = []
    var destinations: [IPv4Address] = []
    var lengths: [Int] = []
    let slab: UnsafeMutableRawPointer
    let slotSize = 2048
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        slab = UnsafeMutableRawPointer.allocate(byteCount: capacity * slotSize, alignment: 64)
        headers.reserveCapacity(capacity)
        sources.reserveCapacity(capacity)
        destinations.reserveCapacity(capacity)
        lengths.reserveCapacity(capacity)
    }

    var count: Int { headers.count }

    mutating func take(from table: TCPEndpointTable, now: TCPInstant) {
        while count < capacity, let segment = table.nextSegment(now: now) {
            table.copyPayload(of: segment, to: slab + count * slotSize)
            headers.append(segment.repr)
            sources.append(segment.source.ipv4Mapped!)
            destinations.append(segment.destination.ipv4Mapped!)
            lengths.append(segment.payloadLength)
        }
    }

    /// Drop every n-th segment (0 = none) to exercise loss recovery.
    var dropEvery = 0
    var delivered = 0

    mutating func deliver(to table: TCPEndpointTable, now: TCPInstant) {
        for index in 0..<count {
            delivered += 1
            if dropEvery > 0 && delivered % dropEvery == 0 { continue }
            table.handle(segment: headers[index],
                         payload: UnsafeRawBufferPointer(start: slab + index * slotSize, count: lengths[index]),
                         source: sources[index], destination: destinations[index], now: now)
        }
        headers.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
        destinations.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
    }
}

@main
struct TCPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp-tcp-bench",
        abstract: "Bulk transfer between two in-memory TCP endpoint tables; segments/s and mallocs per segment.")

    @Option(help: "Megabytes to transfer.") var megabytes = 100
    @Option(help: "Congestion control: newreno or cubic.") var congestion = "newreno"
    @Option(help: "Send and receive buffer size in KiB.") var bufferKiB = 256
    @Option(help: "Drop every n-th segment in each direction (0 = no loss).") var dropEvery = 0
    @Flag(help: "Allocate once per loop turn on purpose (checks that the counter counts).") var sanityAllocate = false

    func run() throws {
        var options = TCPConnectionOptions()
        options.congestionControl = congestion == "cubic" ? .cubic : .newReno
        options.sendBufferSize = bufferKiB * 1024
        options.receiveBufferSize = bufferKiB * 1024
        let a = TCPEndpointTable(key: SipHashKey(k0: 1, k1: 2))
        let b = TCPEndpointTable(key: SipHashKey(k0: 3, k1: 4))
        let server = TCPEndpoint(address: IPv4Address(10, 0, 0, 2), port: 5001)
        let listener = try b.listen(on: server, backlog: 4, options: options)
        var now = TCPInstant.milliseconds(1000)
        let client = try a.connect(from: IPv4Address(10, 0, 0, 1), to: server, options: options, now: now)
        var toB = SegmentQueue(capacity: 4096)
        var toA = SegmentQueue(capacity: 4096)
        var accepted: TCPConnectionID? = nil
        for _ in 0..<100 where accepted == nil {
            toB.take(from: a, now: now); toA.take(from: b, now: now)
            toB.deliver(to: b, now: now); toA.deliver(to: a, now: now)
            accepted = b.accept(listener)
        }
        guard let serverID = accepted else { throw ValidationError("handshake did not complete") }
        while a.nextEvent() != nil {}
        while b.nextEvent() != nil {}
        toB.dropEvery = dropEvery
        toA.dropEvery = dropEvery

        let total = megabytes * 1_000_000
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 64)
        defer { chunk.deallocate() }
        for index in 0..<chunk.count { chunk[index] = UInt8(truncatingIfNeeded: index) }
        var sent = 0
        var received = 0
        var segments = 0
        var measuredSegments = 0
        var warmedUp = false
        let start = DispatchTime()
        while received < total {
            if sent < total {
                let n = min(chunk.count, total - sent)
                sent += (try? a.send(client, UnsafeRawBufferPointer(rebasing: chunk[0..<n]))) ?? 0
            }
            toB.take(from: a, now: now)
            toA.take(from: b, now: now)
            segments += toB.count + toA.count
            if warmedUp { measuredSegments += toB.count + toA.count }
            toB.deliver(to: b, now: now)
            toA.deliver(to: a, now: now)
            while true {
                let got = (try? b.receive(serverID, into: chunk)) ?? 0
                if got == 0 { break }
                received += got
            }
            while a.nextEvent() != nil {}
            while b.nextEvent() != nil {}
            now = now + TCPDuration(microseconds: 100)
            if sanityAllocate {
                let probe = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
                probe.storeBytes(of: received, as: Int.self)
                if probe.load(as: Int.self) == -1 { print("impossible") }
                probe.deallocate()
            }
            if let deadline = a.nextDeadline, deadline <= now { a.poll(now: now) }
            if let deadline = b.nextDeadline, deadline <= now { b.poll(now: now) }
            if !warmedUp && received > total / 10 {
                warmedUp = true
                MallocInterposerSwift.initialize()
                MallocInterposerSwift.hook()
            }
        }
        MallocInterposerSwift.unhook()
        let stats = MallocInterposerSwift.getStatistics()
        let seconds = Double(DispatchTime().nanoseconds - start.nanoseconds) / 1e9
        let mallocs = stats.mallocCount
        let perSegment = Double(mallocs) / Double(max(measuredSegments, 1))
        let megabits = Double(received) * 8 / seconds / 1e6
        let segmentRate = Int(Double(segments) / seconds)
        print("transferred \(received) bytes in \(segments) segments, \(fixed(seconds, 2)) s wall")
        print("segments/s: \(segmentRate), goodput: \(fixed(megabits, 0)) Mbit/s (state machine only, one core)")
        print("steady state: \(measuredSegments) segments, \(mallocs) mallocs (\(fixed(perSegment, 4)) per segment; 0 unless the interposer is preloaded)")
    }
}

/// `value` with `digits` decimals, without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    guard digits > 0 else { return String(whole) }
    let fraction = String(Int(scaled) - whole * Int(scale))
    return "\(whole)." + String(repeating: "0", count: max(digits - fraction.count, 0)) + fraction
}

/// Monotonic wall clock for the report only.
struct DispatchTime {
    let nanoseconds: UInt64
    init() {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        nanoseconds = UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
