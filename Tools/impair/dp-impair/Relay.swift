import Glibc
import Impairment
import Platform

/// The bridge between two interfaces: poll() on both sockets, each frame
/// read from one side goes through that direction's impairment to the other
/// side, and the wait is bounded by the earliest held frame's release time.
final class Relay {
    let a: PacketSocket
    let b: PacketSocket
    let aToB: DirectionRelay
    let bToA: DirectionRelay
    /// Frames read per side per turn, so one busy side cannot starve the other.
    let burst: Int
    /// Large enough for any frame an interface can hand us (64 KiB GSO frames
    /// included), so a too-long frame is counted by its real length.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536 + 256, alignment: 64)

    init(a: PacketSocket, b: PacketSocket, aToB: DirectionRelay, bToA: DirectionRelay, burst: Int) {
        self.a = a
        self.b = b
        self.aToB = aToB
        self.bToA = bToA
        self.burst = burst
    }

    deinit { buffer.deallocate() }

    /// Runs until `deadline` (monotonic nanoseconds) or a stop signal.
    func run(until deadline: UInt64) {
        var descriptors = [pollfd(fd: a.descriptor, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: b.descriptor, events: Int16(POLLIN), revents: 0)]
        while !StopSignals.stopRequested {
            let now = TSCClock.monotonicNanoseconds()
            if now >= deadline { break }
            let timeout = pollTimeout(now: now, deadline: deadline)
            let ready = poll(&descriptors, 2, timeout)
            if ready < 0 && errno != EINTR { break }
            if ready > 0 {
                if descriptors[0].revents != 0 { drain(a, into: aToB, toward: b) }
                if descriptors[1].revents != 0 { drain(b, into: bToA, toward: a) }
            }
            let later = TSCClock.monotonicNanoseconds()
            aToB.releaseDue(now: later) { b.send($0) }
            bToA.releaseDue(now: later) { a.send($0) }
        }
        collectKernelDrops()
    }

    /// Milliseconds until the next held frame is due (rounded up, so it is
    /// due when poll returns), at most 100 ms so stop and deadline are seen.
    private func pollTimeout(now: UInt64, deadline: UInt64) -> Int32 {
        var wake = min(deadline, now + 100_000_000)
        if let next = aToB.nextRelease { wake = min(wake, next) }
        if let next = bToA.nextRelease { wake = min(wake, next) }
        guard wake > now else { return 0 }
        return Int32((wake - now + 999_999) / 1_000_000)
    }

    private func drain(_ input: PacketSocket, into direction: DirectionRelay, toward output: PacketSocket) {
        for _ in 0..<burst {
            let length = input.receive(into: buffer)
            if length == -Int(EAGAIN) || length == -Int(EINTR) { return }
            if length < 0 {
                direction.statistics.receiveErrors += 1
                return
            }
            if length == 0 { continue }  // our own output
            let now = TSCClock.monotonicNanoseconds()
            if length > buffer.count {
                direction.statistics.framesIn += 1
                direction.statistics.bytesIn += UInt64(length)
                direction.statistics.oversized += 1
                continue
            }
            direction.relay(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), now: now) { output.send($0) }
        }
    }

    func collectKernelDrops() {
        aToB.statistics.kernelDrops += a.kernelDrops()
        bToA.statistics.kernelDrops += b.kernelDrops()
    }
}
