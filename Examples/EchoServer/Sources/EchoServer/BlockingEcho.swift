import Dataplane

/// Echo with blocking sockets on one thread: wait for whichever socket is
/// ready (the core keeps polling while it waits), then make the call that
/// will not block. Returns once SIGINT or SIGTERM arrived.
func echoBlocking(on sockets: SocketCore, port: UInt16, totals: EchoTotals) throws {
    let listener = try Socket(.stream, on: sockets)
    try listener.bind(port: port)
    try listener.listen()
    let udp = try Socket(.datagram, on: sockets)
    try udp.bind(port: port)
    let interest = sockets.makeInterestSet()
    try interest.add(listener.descriptor, events: .input)
    try interest.add(udp.descriptor, events: .input)
    var connections: [Int32: Socket] = [:]
    let ready = UnsafeMutableBufferPointer<SocketInterestSet.Event>.allocate(capacity: 64)
    defer { ready.deallocate() }
    while !StopSignals.stopRequested {
        let count = try interest.wait(into: ready, timeoutMilliseconds: 100)
        for event in ready[0..<count] {
            if event.descriptor == listener.descriptor {
                let (connection, _) = try listener.accept()
                try interest.add(connection.descriptor, events: .input)
                connections[connection.descriptor] = connection
                totals.connections += 1
            } else if event.descriptor == udp.descriptor {
                let (datagram, sender) = try udp.receive()
                try udp.send(datagram, to: sender)
                totals.datagrams += 1
            } else if let connection = connections[event.descriptor], !echoOnce(connection, totals) {
                connections[event.descriptor] = nil
                try? connection.close()  // closing also takes it out of the interest set
            }
        }
    }
}

/// Echoes what one ready connection has; false when it is done (closed by
/// the peer, or failed).
func echoOnce(_ connection: Socket, _ totals: EchoTotals) -> Bool {
    do {
        let (bytes, _) = try connection.receive()
        if bytes.isEmpty { return false }
        try connection.send(bytes, flags: .noSignal)  // a blocking send queues all of it
        totals.bytes += bytes.count
        return true
    } catch {
        print("EchoServer: \(error)")
        return false
    }
}
