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
        let interface = interfaces[index]
        let failed = tcp.failConnections { address in
            if let v4 = address.ipv4Mapped { return v4 == interface.address }
            guard let v6 = interface.ipv6 else { return false }
            return v6.index(of: address) != nil || v6.linkLocal == address
        }
        runTCP()
        return failed
    }
}
