/// Bytes the rings keep without copying (TCPByteRing+Borrowed.swift): the
/// application's buffers lent to the send ring, and in-order payloads
/// kept in their packet buffers in the receive ring.
extension TCPConnection {
    /// Queues `borrowed` without copying it: true when the send ring took it
    /// whole (its `release` is then called once every byte is acknowledged,
    /// or when the connection is freed); false when it does not fit now
    /// (nothing taken: copy with `send(_:)`, or try again later).
    public func send(borrowing borrowed: TCPBorrowedBytes) throws(TCPCallError) -> Bool {
        if borrowed.bytes.count > sendBuffer.freeSpace { _ = growSendBufferIfNetworkTakesMore() }
        guard borrowed.bytes.count <= sendBuffer.freeSpace else {
            if let error { throw .failed(error) }
            return false
        }
        return try send(lendingPrefixOf: borrowed) == borrowed.bytes.count
    }

    /// Queues as much of `borrowed` as the send ring has room for, from its
    /// start, without copying it: the bytes taken (0: nothing taken, the
    /// release not called). When any were taken the ring owns the release
    /// (called once the taken bytes are acknowledged); the caller lends the
    /// rest again later, with a release of its own. So a write larger than
    /// the room left is never copied in part (Docs/NIO.md "Copies").
    public func send(lendingPrefixOf borrowed: TCPBorrowedBytes) throws(TCPCallError) -> Int {
        if let error { throw .failed(error) }
        switch state {
        case .synSent, .synReceived, .established, .closeWait:
            guard !finQueued else { throw .invalidState(state) }
            if borrowed.bytes.count > sendBuffer.freeSpace { _ = growSendBufferIfNetworkTakesMore() }
            let count = min(borrowed.bytes.count, sendBuffer.freeSpace)
            guard count > 0 else { return 0 }
            var prefix = borrowed
            prefix.bytes = UnsafeRawBufferPointer(rebasing: borrowed.bytes[..<count])
            prefix.charge = count
            return sendBuffer.appendBorrowed(prefix) ? count : 0
        default:
            throw .invalidState(state)
        }
    }

    /// The share of the receive ring's free room that windows announce, in
    /// eighths, when payloads may be kept in their packet buffers.
    static let lendingWindowEighths = 5

    /// The receive room windows announce. With `receiveLending` a payload
    /// kept in its buffer costs the buffer's size (`charge`, as Linux counts
    /// an skb's truesize), so windows announce 5/8 of the free room: the
    /// rest pays for kept buffers' unused room (`keepLentPayload`).
    var receiveRoom: Int {
        let free = receiveBuffer.freeSpace
        return configuration.receiveLending ? free / 8 * Self.lendingWindowEighths : free
    }

    /// Appends in-order `bytes` (a part of the segment being handled) to the
    /// receive ring as a chunk of the lent packet buffer, when one was lent
    /// with the segment, nothing waits out of order, and the window stays
    /// honest; false: copy them instead.
    ///
    /// Honest: a kept payload costs its whole buffer (`charge`), so it is
    /// kept only when, after it, the ring still has room for the rest of
    /// what was announced (`receiveAdvertisedEdge`) copied byte for byte.
    /// Windows announce 5/8 of the free room, so the 3/8 left over pays for
    /// the buffers' unused room: a window's worth of full segments always
    /// fits (each costs at most 8/5 of its bytes), and small payloads (an
    /// HTTP request in a 2 KiB buffer) are kept while the reader keeps up,
    /// copied once the slack is spent — never dropped for want of room.
    func keepLentPayload(_ payload: TCPPayload) -> Bool {
        guard let lent = lentPayload, reassembly.isEmpty, let bytes = payload.contiguousRegion else { return false }
        let announcedBeyond = max(receiveAdvertisedEdge - (receiveNext + bytes.count), 0)
        guard receiveBuffer.freeSpace - lent.charge >= announcedBeyond else { return false }
        let kept = TCPBorrowedBytes(bytes: bytes, charge: lent.charge, release: lent.release, context: lent.context)
        guard receiveBuffer.appendBorrowed(kept) else { return false }
        lentPayload = nil  // taken: one chunk per buffer
        lentPayloadTaken = true
        return true
    }
}
