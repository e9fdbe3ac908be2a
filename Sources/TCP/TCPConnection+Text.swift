import Wire

/// Segment text and FIN: in-order data into the receive ring,
/// out-of-order data into the reassembly queue, and the peer's FIN.
extension TCPConnection {
    // MARK: Data and FIN

    /// Places the payload (already known to overlap the window) into the
    /// receive ring, in order or out of order, and handles the FIN.
    func processText(start: TCPSequenceNumber, payload: TCPPayload, fin: Bool, now: TCPInstant) {
        var begin = start
        var bytes = payload
        var finHere = fin
        // Trim what we already have.
        if begin < receiveNext {
            let duplicate = receiveNext - begin
            if duplicate >= bytes.count && fin && begin + payload.count < receiveNext { finHere = false }
            bytes = bytes.dropFirst(duplicate)
            begin = receiveNext
        }
        let offset = begin - receiveNext
        // Trim to the room in the ring (never beyond what we announced).
        let room = receiveBuffer.freeSpace - offset
        if bytes.count > room {
            bytes = bytes.prefix(room)
            finHere = false
            statistics.receiveBufferDrops += 1
            ackNow = true  // tell the sender at once how little room there is
        }

        if bytes.count > 0 {
            if offset == 0 {
                var newNext = begin + bytes.count
                let hadHoles = !reassembly.isEmpty
                // Kept in its packet buffer (no copy) or copied into the ring.
                if !keepLentPayload(bytes) {
                    receiveBuffer.write(at: receiveBuffer.count, from: bytes)
                    statistics.receiveBytesCopied += bytes.count
                    if let reached = reassembly.takeContiguous(from: newNext) { newNext = reached }
                    receiveBuffer.commit(newNext - receiveNext)
                }
                statistics.bytesReceived += newNext - receiveNext
                noteReceiveRound(received: newNext - receiveNext, now: now)
                receiveNext = newNext
                pendingEvents.insert(.readable)
                bytesSinceLastACK += bytes.count
                if hadHoles { duplicateACKsOwed = 0 }
                scheduleAcknowledgment(hadHoles: hadHoles, now: now)
            } else {
                if reassembly.insert(start: begin, end: begin + bytes.count) {
                    receiveBuffer.write(at: receiveBuffer.count + offset, from: bytes)
                    statistics.receiveBytesCopied += bytes.count
                } else {
                    statistics.outOfOrderDrops += 1
                    finHere = false
                }
                // One duplicate ACK per out-of-order segment (RFC 5681 4.2), even
                // when the stack handles a burst before asking for output, and
                // per wire segment of a coalesced one.
                duplicateACKsOwed = min(duplicateACKsOwed + bytes.segmentCount, 64)
            }
        }

        if finHere {
            let finAt = begin + bytes.count
            if finAt == receiveNext {
                receivePeerFIN(now: now)
            } else {
                pendingPeerFIN = finAt
                ackNow = true
            }
        } else if let pending = pendingPeerFIN, pending == receiveNext {
            receivePeerFIN(now: now)
        }
    }

    /// The peer's FIN is next in sequence (RFC 9293 3.10.7.4, eighth check).
    func receivePeerFIN(now: TCPInstant) {
        pendingPeerFIN = nil
        peerFINReceived = true
        receiveNext = receiveNext + 1
        ackNow = true
        pendingEvents.formUnion([.readable, .readClosed])
        switch state {
        case .synReceived, .established:
            state = .closeWait
        case .finWait1:
            if finAcknowledged { enterTimeWait(now: now) } else { state = .closing }
        case .finWait2:
            enterTimeWait(now: now)
        default:
            break
        }
    }
}
