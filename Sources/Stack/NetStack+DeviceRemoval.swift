import Wire

extension NetStack {
    /// Interface `index`'s device was removed (a driver's health check said
    /// `.removed`): its TCP connections fail with ENETDOWN
    /// (TCPEndpointTable.failConnections) and their sockets wake with the
    /// error. Frames the stack still sends there are refused by the stopped
    /// driver and counted as transmit drops. Returns the connections failed.
    @discardableResult
    public func interfaceRemoved(_ index: Int) -> Int {
        guard interfaces.indices.contains(index) else { return 0 }
        let failed = tcp.failConnections(from: interfaces[index].address)
        runTCP()
        return failed
    }
}
