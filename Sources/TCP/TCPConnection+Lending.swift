/// Bytes the rings keep without copying (TCPByteRing+Borrowed.swift): the
/// application's buffers lent to the send ring, and in-order payloads
/// kept in their packet buffers in the receive ring.
extension TCPConnection {
    /// Queues `borrowed` without copying it: true when the send ring took it
    /// whole (its `release` is then called once every byte is acknowledged,
    /// or when the connection is freed); false when it does not fit now
    /// (nothing taken: copy with `send(_:)`, or try again later).
    public func send(borrowing borrowed: TCPBorrowedBytes) throws(TCPCallError) -> Bool {
        if let error { throw .failed(error) }
        switch state {
        case .synSent, .synReceived, .established, .closeWait:
            guard !finQueued else { throw .invalidState(state) }
            return sendBuffer.appendBorrowed(borrowed)
        default:
            throw .invalidState(state)
        }
    }

    /// The share of the receive ring's free room that windows announce, in
    /// eighths, when payloads may be kept in their packet buffers.
    static let lendingWindowEighths = 5

    /// The receive room windows announce. With `receiveLending` a payload
    /// kept in its buffer costs the buffer's size (`charge`, as Linux counts
    /// an skb's truesize), so windows announce 5/8 of the free room and a
    /// payload is kept only when it fills at least 5/8 of its buffer: the
    /// bytes announced then always fit, kept or copied.
    var receiveRoom: Int {
        let free = receiveBuffer.freeSpace
        return configuration.receiveLending ? free / 8 * Self.lendingWindowEighths : free
    }

    /// Appends in-order `bytes` (a part of the segment being handled) to the
    /// receive ring as a chunk of the lent packet buffer, when one was lent
    /// with the segment, nothing waits out of order, and the payload fills
    /// enough of its buffer; false: copy them instead.
    func keepLentPayload(_ payload: TCPPayload) -> Bool {
        guard let lent = lentPayload, reassembly.isEmpty, let bytes = payload.contiguousRegion,
              bytes.count * 8 >= lent.charge * Self.lendingWindowEighths else { return false }
        let kept = TCPBorrowedBytes(bytes: bytes, charge: lent.charge, release: lent.release, context: lent.context)
        guard receiveBuffer.appendBorrowed(kept) else { return false }
        lentPayload = nil  // taken: one chunk per buffer
        lentPayloadTaken = true
        return true
    }
}
