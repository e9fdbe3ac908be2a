import Foundation
import Glibc
import Platform
import Sockets
import Stack

/// Echo on every connection of one listener, driven by an interest set (so
/// a turn costs what is ready, not what is open).
final class EchoServer {
    let core: SocketCore
    let listener: Int32
    let set: SocketInterestSet
    var accepted = 0
    var closed = 0
    var echoedBytes = 0
    var failures = 0
    var peakOpen = 0
    let baseline: MemorySample

    init(core: SocketCore, port: UInt16, backlog: Int) throws {
        self.core = core
        listener = try core.socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), protocol: 0)
        try core.bind(listener, to: IPv4SocketAddress(.any, port))
        try core.listen(listener, backlog: backlog)
        set = core.makeInterestSet()
        try set.add(listener, events: .input, userData: UInt64(UInt32(bitPattern: listener)))
        baseline = MemorySample.now(core.stack)
    }

    /// Serves until `seconds` pass or SIGINT/SIGTERM; writes the status each second.
    func serve(seconds: Double, statusPath: String) throws {
        let events = UnsafeMutableBufferPointer<SocketInterestSet.Event>.allocate(capacity: 1024)
        defer { events.deallocate() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        let start = TSCClock.monotonicNanoseconds()
        var nextStatus = start
        var steps = 0, stepNanoseconds: UInt64 = 0, idleSteps = 0, idleNanoseconds: UInt64 = 0
        while !StopSignals.stopRequested {
            let before = TSCClock.monotonicNanoseconds()
            if before - start > UInt64(seconds * 1e9) { break }
            let found = try set.wait(into: events, timeoutMilliseconds: 0)  // one poll step, then what is ready
            let stepped = TSCClock.monotonicNanoseconds() - before
            steps += 1
            stepNanoseconds += stepped
            if found == 0 { idleSteps += 1; idleNanoseconds += stepped }
            for event in events.prefix(found) { handle(event.descriptor, buffer) }
            if found == 0 { usleep(20) }
            let now = TSCClock.monotonicNanoseconds()
            if now >= nextStatus {
                let sample = MemorySample.now(core.stack)
                writeStatus(statusPath, sample, steps: steps, stepNanoseconds: stepNanoseconds,
                            idleSteps: idleSteps, idleNanoseconds: idleNanoseconds)
                steps = 0; stepNanoseconds = 0; idleSteps = 0; idleNanoseconds = 0
                nextStatus = now + 1_000_000_000
            }
        }
    }

    private func handle(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer) {
        if descriptor == listener {
            while let (fd, _) = try? core.accept(listener) {
                do {
                    try core.setNonBlocking(fd, true)
                    try set.add(fd, events: .input, userData: UInt64(UInt32(bitPattern: fd)))
                    accepted += 1
                } catch {
                    failures += 1
                    try? core.close(fd)
                }
            }
            peakOpen = max(peakOpen, accepted - closed)
            return
        }
        do {
            let result = try core.receive(descriptor, into: buffer)
            if result.count == 0 { close(descriptor); return }
            let sent = try core.send(descriptor, UnsafeRawBufferPointer(rebasing: buffer.prefix(result.count)))
            echoedBytes += sent
            if sent < result.count { failures += 1 }  // 16-byte echoes always fit the send ring
        } catch {
            if error.errno == .resourceTemporarilyUnavailable { return }
            close(descriptor)
        }
    }

    private func close(_ descriptor: Int32) {
        try? set.remove(descriptor)
        try? core.close(descriptor)
        closed += 1
    }

    /// The stack's non-zero drop and deferral counters (why a frame was lost).
    private func stackDrops() -> [String: UInt64] {
        var drops: [String: UInt64] = [:]
        let counters = core.stack.counters
        for counter in StackCounter.allCases where counter.rawValue >= StackCounter.ethernetNotForUs.rawValue
            || counter == .transmitDeferred {
            if counters[counter] > 0 { drops[counter.name] = counters[counter] }
        }
        return drops
    }

    private func writeStatus(_ path: String, _ sample: MemorySample, steps: Int, stepNanoseconds: UInt64,
                             idleSteps: Int, idleNanoseconds: UInt64) {
        let open = accepted - closed
        let tcp = core.stack.tcpStatistics
        let fields: [String: Any] = [
            "syns_dropped": tcp.synsDropped, "syn_cookies_sent": tcp.synCookiesSent,
            "syn_cookies_accepted": tcp.synCookiesAccepted, "syn_cookies_over_half_open": tcp.synCookiesOverHalfOpen,
            "cookie_acks_dropped_queue_full": tcp.cookieACKsDroppedQueueFull,
            "handshake_acks_dropped_queue_full": tcp.handshakeACKsDroppedQueueFull,
            "cookie_acks_dropped_unchecked": tcp.synCookieACKsDroppedUnchecked, "syn_cookies_rejected": tcp.synCookiesRejected,
            "timer_expirations": tcp.timerExpirations, "control_queue_drops": tcp.controlQueueDrops,
            "stack_drops": stackDrops(),
            "open": open, "accepted": accepted, "closed": closed, "peak_open": peakOpen, "echoed_bytes": echoedBytes,
            "failures": failures, "tcp_connections": sample.tcpConnections, "time_wait": sample.timeWait,
            "rss_bytes": sample.rssBytes, "baseline_rss_bytes": baseline.rssBytes,
            "heap_bytes": sample.heapBytes, "baseline_heap_bytes": baseline.heapBytes,
            "ring_bytes_in_use": sample.ringBytesInUse, "ring_bytes_from_system": sample.ringSystemBytes,
            "steps": steps, "step_ns_avg": steps > 0 ? Int(stepNanoseconds) / steps : 0,
            "idle_steps": idleSteps, "idle_step_ns_avg": idleSteps > 0 ? Int(idleNanoseconds) / idleSteps : 0,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
        let temporary = path + ".tmp"
        FileManager.default.createFile(atPath: temporary, contents: data + Data("\n".utf8))
        _ = rename(temporary, path)
    }
}

/// The process's memory as the kernel sees it (RSS) and as malloc does (heap in use).
struct MemorySample {
    var rssBytes: Int
    var heapBytes: Int
    var tcpConnections: Int
    var timeWait: Int
    var ringBytesInUse: Int
    var ringSystemBytes: Int

    static func now(_ stack: NetStack) -> MemorySample {
        var rss = 0
        if let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = text.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { rss = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        let ring = stack.tcpRingMemory
        return MemorySample(rssBytes: rss, heapBytes: heapInUse(), tcpConnections: stack.tcpConnectionCount,
                            timeWait: stack.tcpTimeWaitCount, ringBytesInUse: ring.inUse, ringSystemBytes: ring.fromSystem)
    }
}

/// Bytes malloc has handed out and not had back, from glibc's malloc_info
/// (its totals: memory from the system less the free chunks); 0 without it.
/// (malloc.h is not in Swift's Glibc module, so the call is looked up.)
func heapInUse() -> Int {
    typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
    guard let symbol = dlsym(nil, "malloc_info") else { return 0 }  // nil: RTLD_DEFAULT
    let call = unsafeBitCast(symbol, to: MallocInfo.self)
    var buffer: UnsafeMutablePointer<CChar>?
    var size = 0
    guard let stream = open_memstream(&buffer, &size) else { return 0 }
    _ = call(0, stream)
    fclose(stream)
    guard let buffer else { return 0 }
    defer { free(buffer) }
    let text = String(cString: buffer)
    // The top-level totals follow the last </heap>.
    guard let tail = text.range(of: "</heap>", options: .backwards).map({ text[$0.upperBound...] }) else { return 0 }
    func number(_ prefix: String) -> Int {
        guard let start = tail.range(of: prefix) else { return 0 }
        let rest = tail[start.upperBound...]
        guard let sizeStart = rest.range(of: "size=\"") else { return 0 }
        return Int(rest[sizeStart.upperBound...].prefix { $0.isNumber }) ?? 0
    }
    let system = number("<system type=\"current\"")
    let free = number("<total type=\"fast\"") + number("<total type=\"rest\"")
    let mapped = number("<total type=\"mmap\"")
    return system - free + mapped
}
