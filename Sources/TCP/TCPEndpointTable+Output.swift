import Wire

/// Timers, segments out and events: what the stack drains after feeding
/// the table, and where touched connections settle.
extension TCPEndpointTable {
    // MARK: Timers

    /// Fires due timers (the buckets of the timer wheel since the last call:
    /// O(1) per tick, not per connection) and expires TIME-WAIT entries.
    public func poll(now: TCPInstant) {
        timeWait.expire(now: now)
        fireTimers(now: now)
        cachedDeadline = timeWait.nextExpiry.earliest(wheelDeadline)
    }

    /// When `poll` is next needed. O(1): a lower bound kept as connections
    /// are touched (it may be early, never late; an early `poll` only
    /// recomputes it). Touch connections only through the table's calls
    /// (`send`, `receive`, `withConnection`, ...) so that this stays true.
    public var nextDeadline: TCPInstant? { cachedDeadline }

    // MARK: Segments out, events

    /// The next segment to send, or nil when nothing is due.
    public func nextSegment(now: TCPInstant) -> TCPOutgoingSegment? {
        if controlQueueHead < controlQueue.count {
            let segment = controlQueue[controlQueueHead]
            controlQueueHead += 1
            if controlQueueHead == controlQueue.count {
                controlQueue.removeAll(keepingCapacity: true)
                controlQueueHead = 0
            }
            return segment
        }
        while dirtyCursor < dirty.count {
            let slot = dirty[dirtyCursor]
            if let connection = slots[Int(slot)], var segment = connection.nextSegment(now: now) {
                segment.connectionSlot = slot
                return segment
            }
            dirtyCursor += 1
            slotInfo[Int(slot)].isDirty = false
            settle(slot, now: now)
        }
        dirty.removeAll(keepingCapacity: true)
        dirtyCursor = 0
        return nil
    }

    /// Copies a segment's payload (from `nextSegment`, before the next call).
    public func copyPayload(of segment: TCPOutgoingSegment, to destination: UnsafeMutableRawPointer) {
        guard segment.payloadLength > 0, segment.connectionSlot >= 0,
              let connection = slots[Int(segment.connectionSlot)] else { return }
        connection.copyPayload(of: segment, to: destination)
    }

    /// Copies `count` bytes of a segment's payload from `offset` on.
    public func copyPayload(of segment: TCPOutgoingSegment, from offset: Int, count: Int, to destination: UnsafeMutableRawPointer) {
        guard segment.payloadLength > 0, segment.connectionSlot >= 0,
              let connection = slots[Int(segment.connectionSlot)] else { return }
        connection.copyPayload(of: segment, from: offset, count: count, to: destination)
    }

    /// IP_TTL and IP_TOS of the connection a segment belongs to (defaults
    /// for RSTs and SYN cookies, which belong to none).
    public func ipOptions(of segment: TCPOutgoingSegment) -> (timeToLive: UInt8, typeOfService: UInt8) {
        guard segment.connectionSlot >= 0, Int(segment.connectionSlot) < slots.count,
              let connection = slots[Int(segment.connectionSlot)] else { return (64, 0) }
        return (connection.options.timeToLive, connection.options.typeOfService)
    }

    /// The next event for the socket layer, or nil. Call after draining
    /// `nextSegment` (which is when connections settle).
    public func nextEvent() -> TCPTableEvent? {
        guard eventsHead < events.count else {
            events.removeAll(keepingCapacity: true)
            eventsHead = 0
            return nil
        }
        let event = events[eventsHead]
        eventsHead += 1
        return event
    }

    /// After a connection was touched and drained: hand it to its listener,
    /// move it to TIME-WAIT, free it, and report its events.
    func settle(_ slot: Int32, now: TCPInstant) {
        guard let connection = slots[Int(slot)] else { return }
        cachedDeadline = cachedDeadline.earliest(connection.nextDeadline)
        schedule(slot, connection.nextDeadline)
        var info = slotInfo[Int(slot)]
        if !info.accepted {
            if info.parent >= 0, !info.inAcceptQueue, connection.state != .synReceived && connection.state != .closed,
               var listener = listeners[Int(info.parent)] {
                listener.halfOpen = max(listener.halfOpen - 1, 0)
                listener.acceptQueue.append(id(of: slot))
                listener.eventsPending.insert(.acceptable)
                listeners[Int(info.parent)] = listener
                info.inAcceptQueue = true
                events.append(.listener(TCPListenerID(index: info.parent, generation: listener.generation), [.acceptable]))
            }
            if connection.state == .closed {
                if info.parent >= 0, !info.inAcceptQueue, let listener = listeners[Int(info.parent)] {
                    listeners[Int(info.parent)]!.halfOpen = max(listener.halfOpen - 1, 0)
                }
                info.released = true
            }
            slotInfo[Int(slot)] = info
        } else if connection.hasPendingEvents && !info.released {
            events.append(.connection(id(of: slot), connection.takeEvents()))
        }
        guard info.released, !connection.hasOutputPending else { return }
        if connection.state == .timeWait, let expires = connection.timeWaitDeadline {
            timeWait.insert(TCPTimeWaitTable.Entry(
                tuple: connection.tuple, sendNext: connection.sendNext, receiveNext: connection.receiveNext,
                timestampsEnabled: connection.timestampsEnabled, timestampRecent: connection.timestampRecent,
                timestampOffset: connection.timestampOffset, window: connection.announceWindowForTimeWait,
                expires: expires))
            cachedDeadline = cachedDeadline.earliest(expires)
            free(slot)
        } else if connection.state == .closed {
            free(slot)
        }
    }

    // MARK: Control segments

    func queueControl(_ segment: TCPOutgoingSegment?) {
        guard let segment else { return }
        if controlQueue.count - controlQueueHead >= controlQueueLimit {
            statistics.controlQueueDrops += 1
            return
        }
        controlQueue.append(segment)
    }
}
