import Dataplane

/// Echo with async/await: the UDP loop and one task per connection, all on
/// the core's thread (child tasks inherit the core's executor).
func echoAsync(on sockets: SocketCore, port: UInt16, totals: EchoTotals) async throws {
    let listener = try Socket(.stream, on: sockets)
    try listener.bind(port: port)
    try listener.listen()
    let udp = try Socket(.datagram, on: sockets)
    try udp.bind(port: port)
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask {
            while true {
                let (datagram, sender) = try await udp.receive()
                try await udp.send(datagram, to: sender)
                totals.datagrams += 1
            }
        }
        while true {
            let (connection, peer) = try await listener.accept()
            totals.connections += 1
            group.addTask {
                // One connection failing (a reset) ends that connection, not the server.
                do { try await echo(connection, totals) } catch { print("EchoServer: \(peer): \(error)") }
                try? connection.close()
            }
        }
    }
}

/// Sends back what arrives until the peer closes its side.
func echo(_ connection: Socket, _ totals: EchoTotals) async throws {
    while true {
        let (bytes, _) = try await connection.receive()
        if bytes.isEmpty { return }
        // .noSignal: a peer gone away is an error here, not a SIGPIPE for the process.
        try await connection.send(bytes, flags: .noSignal)
        totals.bytes += bytes.count
    }
}
