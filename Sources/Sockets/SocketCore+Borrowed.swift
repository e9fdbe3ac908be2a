import Stack

/// A stream send that lends the buffers instead of copying them: the
/// connection's send ring keeps each one until its bytes are acknowledged
/// and then calls its `release`, so the only copy is ring → packet at
/// segmentation (DataplaneNIO hands it a channel's `ByteBuffer`s).
extension SocketCore {
    /// Queues `buffers` in order on a SOCK_STREAM socket without copying
    /// them; never blocks (MSG_DONTWAIT is implied). `borrowed`: how many
    /// buffers, from the first, the send ring now owns (it calls their
    /// `release` later); `bytes`: the bytes queued, of which the last owned
    /// buffer may have given only a prefix (the ring had no room for all
    /// of it: lend the rest again later, with a release of its own).
    /// Buffers not owned stay the caller's, their `release` never called. EAGAIN when the send buffer is full; other errors as `send`.
    public func send(_ descriptor: Int32, borrowing buffers: UnsafeBufferPointer<LentBytes>,
                     flags: MessageFlags = []) throws(SocketError) -> (bytes: Int, borrowed: Int) {
        let (_, entry) = try entry(descriptor)
        guard flags.subtracting(MessageFlags.sendFlags).isEmpty else {
            throw SocketError(.invalidArgument, "send flags 0x\(String(flags.rawValue, radix: 16)): only MSG_DONTWAIT and MSG_NOSIGNAL apply to send")
        }
        guard entry.kind == .stream else {
            throw SocketError(.notSupportedOnSocket, "lent buffers are for SOCK_STREAM sockets")
        }
        if entry.shutWrite { throw brokenPipe(flags, "the socket was shut down for writing") }
        guard let id = entry.connection else {
            throw SocketError(.socketNotConnected, "the socket is not connected: connect (or accept) first")
        }
        if let error = takeConnectionError(entry) { throw error }
        if entry.connectionEnded { throw brokenPipe(flags, "the connection has ended") }
        let (result, borrowed) = stack.tcpSend(id, borrowing: buffers)
        switch result {
        case .unknown:
            throw brokenPipe(flags, "the connection has ended")
        case .notYetOpen:
            throw SocketError(.resourceTemporarilyUnavailable, "the connection is not yet established")
        case .queued(let count):
            if count == 0 && buffers.contains(where: { !$0.bytes.isEmpty }) {
                throw SocketError(.resourceTemporarilyUnavailable, "the send buffer is full")
            }
            return (count, borrowed)
        case .closed(let state):
            if let failure = takeConnectionError(entry) { throw failure }
            throw brokenPipe(flags, "the connection is closing (\(state))")
        }
    }
}
