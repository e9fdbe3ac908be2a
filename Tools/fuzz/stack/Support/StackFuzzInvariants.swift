import Glibc
import Sockets
import Stack
import TCP
import Wire

// What must hold after every step of a program, whatever the input was
// (Docs/ROBUSTNESS.md lists them).
extension StackFuzzWorld {
    func checkInvariants() {
        checkBuffers()
        checkCounters()
        checkSockets()
    }

    /// Every buffer taken from the pool is in the stack's tables or a
    /// socket's peeked datagram (the rings are empty: the stack took all it
    /// was given, the peer read all it sent).
    private func checkBuffers() {
        let inUse = pool.statistics.inUse
        let held = stack.heldBuffers + core.heldBuffers
        require(inUse == held, "\(inUse) pool buffers in use but the stack and sockets account for \(held)")
        require(inUse <= Self.poolCapacity, "more buffers in use than the pool has")
    }

    private func checkCounters() {
        // With the rings empty, what the peer put in and took out is what
        // the port counted (`finish` compares with the port's own counters).
        let c = stack.counters
        require(c[.framesReceived] == injected, "frames.received \(c[.framesReceived]) != \(injected) frames injected")
        require(c[.framesTransmitted] == drained, "frames.transmitted \(c[.framesTransmitted]) != \(drained) frames the peer took")
        require(c[.ipv4Received] <= c[.framesReceived], "more IPv4 packets than frames")
        require(c[.ipv4FragmentsReceived] <= c[.ipv4Received], "more fragments than IPv4 packets")
        require(c[.ipv4Reassembled] <= c[.ipv4FragmentsReceived], "more datagrams reassembled than fragments")
        require(c[.udpDelivered] <= c[.udpReceived], "more UDP datagrams delivered than received")
    }

    /// Sockets: every descriptor the program holds is alive; connections
    /// have one entry per four-tuple, no listener state among them, and
    /// queues within the buffers' bounds. A CLOSED connection is one a
    /// socket still holds (reset, or ended before close()): never more of
    /// them than open stream sockets, else the table kept an orphan.
    private func checkSockets() {
        for descriptor in descriptors {
            var error: Int32 = 0
            do {
                _ = try withUnsafeMutableBytes(of: &error) { bytes throws(SocketError) in
                    try core.getOption(descriptor, level: SOL_SOCKET, name: SO_ERROR, into: bytes)
                }
            } catch {
                require(false, "descriptor \(descriptor) is open but getsockopt says \(error)")
            }
        }
        require(descriptors.count <= 16, "more descriptors than the socket budget")
        tuples.removeAll(keepingCapacity: true)
        var closed = 0
        stack.forEachTCPConnection { connection in
            require(connection.state != .listen, "a connection in state LISTEN")
            if connection.state == .closed { closed += 1 }
            require(tuples.insert(connection.tuple).inserted, "two connections on \(connection.tuple)")
            let received = connection.bytesReadable, unacknowledged = connection.bytesUnacknowledged
            require(received >= 0 && received <= 16 << 20, "receive queue \(received)")
            require(unacknowledged >= 0 && unacknowledged <= 16 << 20, "send queue \(unacknowledged)")
            require(connection.congestionWindow > 0, "congestion window \(connection.congestionWindow)")
        }
        guard closed > 0 else { return }
        var streams = 0
        for descriptor in descriptors where (try? core.connectionID(of: descriptor)) != nil { streams += 1 }
        require(closed <= streams, "\(closed) CLOSED connections but \(streams) sockets hold connections (an orphan)")
    }
}
