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
        let c = stack.counters
        let port = pair.first.statistics()
        require(c[.framesReceived] == port.receivedPackets,
                "frames.received \(c[.framesReceived]) != port received \(port.receivedPackets)")
        require(c[.framesTransmitted] == port.transmittedPackets,
                "frames.transmitted \(c[.framesTransmitted]) != port transmitted \(port.transmittedPackets)")
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
        let connections = stack.tcpConnectionInfos
        var tuples = Set<TCPFourTuple>()
        var closed = 0
        for info in connections {
            require(info.state != .listen, "a connection in state LISTEN")
            if info.state == .closed { closed += 1 }
            require(tuples.insert(info.tuple).inserted, "two connections on \(info.tuple)")
            require(info.receiveQueue >= 0 && info.receiveQueue <= 16 << 20, "receive queue \(info.receiveQueue)")
            require(info.sendQueue >= 0 && info.sendQueue <= 16 << 20, "send queue \(info.sendQueue)")
            require(info.congestionWindow > 0, "congestion window \(info.congestionWindow)")
        }
        let streams = descriptors.filter { (try? core.connectionID(of: $0)) != nil }.count
        require(closed <= streams, "\(closed) CLOSED connections but \(streams) sockets hold connections (an orphan)")
        require(descriptors.count <= 16, "more descriptors than the socket budget")
    }
}
