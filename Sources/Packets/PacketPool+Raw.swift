/// Raw objects: buffers got and put without touching their headers, as
/// `rte_mempool_get_bulk` / `rte_mempool_put_bulk` move mbufs. The pool's
/// own cost alone (its per-core cache and shared ring), for code that
/// writes every header field it uses itself, and for measuring the pool
/// like for like with DPDK's mempool_perf_autotest (`dp-bench pool`).
///
/// A raw buffer stays marked free: it is not a `PacketBuffer` (freeing or
/// using it as one traps in debug builds); give it back with `freeRaw`.
extension PacketPool {
    /// Fills `headers` with free buffers, their headers untouched; returns
    /// how many (fewer when the pool runs low, counted in `allocationFailures`).
    @inlinable
    public func allocateRaw(into headers: UnsafeMutableBufferPointer<UnsafeMutablePointer<PacketHeader>>) -> Int {
        guard !headers.isEmpty else { return 0 }
        let got = take(headers)
        if got < headers.count { countFailure() }
        return got
    }

    /// Gives back buffers that `allocateRaw` handed out, untouched.
    @inlinable
    public func freeRaw(_ headers: UnsafeBufferPointer<UnsafeMutablePointer<PacketHeader>>) {
        guard !headers.isEmpty else { return }
        put(bulk: headers)
    }
}
