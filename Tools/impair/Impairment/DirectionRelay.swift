/// One direction of the relay: frames come in, the impairer decides, and
/// they leave through `send` at once or from the delay queue later. No I/O
/// of its own, so tests drive it with a closure for a wire.
public final class DirectionRelay {
    public private(set) var impairer: Impairer
    public let queue: DelayQueue
    /// The longest frame this direction carries (the output's MTU + 14).
    public let maximumFrame: Int
    public var statistics = DirectionStatistics()

    public init(settings: ImpairmentSettings, seed: UInt64, maximumFrame: Int, queueCapacity: Int = 4096) {
        impairer = Impairer(settings: settings, seed: seed)
        self.maximumFrame = maximumFrame
        queue = DelayQueue(capacity: queueCapacity, frameCapacity: maximumFrame)
    }

    /// When the next held frame is due, nil when none is held.
    public var nextRelease: UInt64? { queue.nextRelease }

    /// Takes one frame that arrived at `now` (nanoseconds). `send` returns
    /// false when the output refused the frame.
    public func relay(_ frame: UnsafeRawBufferPointer, now: UInt64, send: (UnsafeRawBufferPointer) -> Bool) {
        statistics.framesIn += 1
        statistics.bytesIn += UInt64(frame.count)
        guard frame.count <= maximumFrame else {
            statistics.oversized += 1
            return
        }
        let verdict = impairer.decide()
        if verdict.dropped {
            statistics.dropped += 1
            return
        }
        if verdict.duplicated { statistics.duplicated += 1 }
        if verdict.reordered { statistics.reordered += 1 }
        for _ in 0..<verdict.copies {
            if verdict.hold == 0 {
                transmit(frame, send)
            } else if !queue.enqueue(frame, release: now + verdict.hold) {
                statistics.queueOverflow += 1
            }
        }
    }

    /// Sends every held frame that is due at `now`.
    public func releaseDue(now: UInt64, send: (UnsafeRawBufferPointer) -> Bool) {
        queue.releaseDue(now: now) { frame in transmit(frame, send) }
    }

    private func transmit(_ frame: UnsafeRawBufferPointer, _ send: (UnsafeRawBufferPointer) -> Bool) {
        if send(frame) {
            statistics.passed += 1
            statistics.bytesOut += UInt64(frame.count)
        } else {
            statistics.sendErrors += 1
        }
    }
}
