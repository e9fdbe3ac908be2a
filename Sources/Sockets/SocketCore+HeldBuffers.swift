// Pool buffers the socket layer holds itself, for the leak checks of the
// fuzz targets and the exhaustion tests (Docs/ROBUSTNESS.md): with the
// rings drained, a pool's buffers in use equal the stack's `heldBuffers`
// plus this. Walks the table: call it between steps, never per packet.
extension SocketCore {
    /// Buffers (every segment of a chain) of the datagrams UDP sockets took
    /// from the stack's queue for recv(MSG_PEEK) or a connected socket's filter.
    public var heldBuffers: Int {
        var total = 0
        for entry in slots {
            if let peeked = entry?.peeked { total += peeked.payload.segmentCount }
        }
        return total
    }
}
