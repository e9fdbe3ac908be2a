extension TCPEndpointTable {
    /// Calls `body` with every connection in the table (the ones
    /// `connectionInfos` lists), without copying or allocating: for checks
    /// run between steps, e.g. the fuzz targets' invariants
    /// (Docs/ROBUSTNESS.md). `body` must not change the table.
    public func forEachConnection(_ body: (TCPConnection) -> Void) {
        for case let connection? in slots { body(connection) }
    }
}
