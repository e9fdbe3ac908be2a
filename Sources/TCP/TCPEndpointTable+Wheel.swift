/// The connections' timers in a hashed timing wheel (Varghese and Lauck):
/// 1,024 buckets of 1 ms, each a doubly linked list threaded through the
/// slots' `SlotInfo`, so scheduling, cancelling and firing cost O(1) per
/// connection touched and a tick costs only its own bucket, however many
/// connections sit idle. A deadline further than one turn ahead stays in its
/// bucket and is passed over on the turns before. Nothing is allocated: the
/// links live in the slots.
struct TCPTimerWheel {
    static let bucketCount = 1024
    static let tickMicroseconds: UInt64 = 1000
    var heads = [Int32](repeating: -1, count: bucketCount)
    /// Every tick up to this one has been fired.
    var lastTick: UInt64 = 0
    var count = 0

    static func tick(_ instant: TCPInstant) -> UInt64 { instant.microseconds / tickMicroseconds }
    static func tick(atOrAfter instant: TCPInstant) -> UInt64 {
        (instant.microseconds + tickMicroseconds - 1) / tickMicroseconds
    }
}

extension TCPEndpointTable {
    /// Puts a slot's earliest deadline in the wheel (or takes it out for nil).
    func schedule(_ slot: Int32, _ deadline: TCPInstant?) {
        let s = Int(slot)
        if slotInfo[s].scheduled == deadline { return }
        if slotInfo[s].scheduled != nil { unschedule(slot) }
        guard let deadline else { return }
        // The first tick at or after the deadline: when that tick's bucket
        // is fired, the deadline has passed (rounding down would file a
        // deadline inside a tick where its bucket is looked at too early,
        // and it would wait a whole turn of the wheel).
        let tick = max(TCPTimerWheel.tick(atOrAfter: deadline), wheel.lastTick + 1)
        let bucket = Int(tick & UInt64(TCPTimerWheel.bucketCount - 1))
        let head = wheel.heads[bucket]
        slotInfo[s].wheelNext = head
        slotInfo[s].wheelPrevious = -1
        if head >= 0 { slotInfo[Int(head)].wheelPrevious = slot }
        wheel.heads[bucket] = slot
        slotInfo[s].wheelBucket = Int32(bucket)
        slotInfo[s].scheduled = deadline
        wheel.count += 1
    }

    func unschedule(_ slot: Int32) {
        let s = Int(slot)
        guard slotInfo[s].scheduled != nil else { return }
        let next = slotInfo[s].wheelNext, previous = slotInfo[s].wheelPrevious
        if previous >= 0 { slotInfo[Int(previous)].wheelNext = next } else { wheel.heads[Int(slotInfo[s].wheelBucket)] = next }
        if next >= 0 { slotInfo[Int(next)].wheelPrevious = previous }
        slotInfo[s].scheduled = nil
        slotInfo[s].wheelNext = -1
        slotInfo[s].wheelPrevious = -1
        wheel.count -= 1
    }

    /// Fires the buckets of every tick since the last call (at most one turn).
    func fireTimers(now: TCPInstant) {
        let nowTick = TCPTimerWheel.tick(now)
        defer { wheel.lastTick = max(wheel.lastTick, nowTick) }
        guard wheel.count > 0, nowTick > wheel.lastTick else { return }
        let span = min(nowTick - wheel.lastTick, UInt64(TCPTimerWheel.bucketCount))
        for k in 1...span {
            let bucket = Int((wheel.lastTick + k) & UInt64(TCPTimerWheel.bucketCount - 1))
            var slot = wheel.heads[bucket]
            while slot >= 0 {
                let next = slotInfo[Int(slot)].wheelNext
                if let deadline = slotInfo[Int(slot)].scheduled, deadline <= now {
                    statistics.timerExpirations += 1
                    unschedule(slot)
                    if let connection = slots[Int(slot)] {
                        if let due = connection.nextDeadline, due <= now { connection.poll(now: now) }
                        markDirty(slot)  // settles: output, events, the next deadline scheduled
                    }
                }
                slot = next
            }
        }
    }

    /// When the wheel next needs a look: the next tick while it holds timers.
    var wheelDeadline: TCPInstant? {
        wheel.count > 0 ? TCPInstant(microseconds: (wheel.lastTick + 1) * TCPTimerWheel.tickMicroseconds) : nil
    }
}
