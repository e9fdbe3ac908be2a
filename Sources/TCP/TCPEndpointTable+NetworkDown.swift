import Wire

extension TCPEndpointTable {
    /// The device carrying `address` is gone for good (a NIC unplugged):
    /// every connection from that address fails with `.networkDown` at
    /// once, without a RST (there is no way out to send one). Linux would
    /// instead retransmit into the void for up to ~15 minutes before
    /// ETIMEDOUT; a removed port of a data plane never comes back, so
    /// waiting serves no one. Listeners stay (a socket bound to the
    /// wildcard may still serve other ports). `isGone` says which local
    /// addresses (IPv4 ones v4-mapped) were the device's. Returns how many failed.
    @discardableResult
    public func failConnections(from isGone: (IPv6Address) -> Bool) -> Int {
        var failed = 0
        for (index, connection) in slots.enumerated() {
            guard let connection, isGone(connection.tuple.local.address), connection.state != .closed else { continue }
            let slot = Int32(index)
            connection.enterClosed(error: .networkDown)
            markDirty(slot)
            failed += 1
        }
        return failed
    }
}

extension TCPEndpointTable {
    /// A Packet Too Big lowered the path MTU toward `remote` (RFC 8201 §4:
    /// the MTU is the destination's, so every connection to it shrinks its
    /// segments). Rare (only decreases reach here), so a scan. Returns how
    /// many connections changed.
    @discardableResult
    public func pathMTUDecreased(toward remote: IPv6Address, mtu: Int, now: TCPInstant) -> Int {
        var changed = 0
        for (index, connection) in slots.enumerated() {
            guard let connection, connection.tuple.remote.address == remote,
                  connection.pathMTUDecreased(to: mtu, now: now) else { continue }
            let slot = Int32(index)
            markDirty(slot)
            changed += 1
        }
        return changed
    }
}
