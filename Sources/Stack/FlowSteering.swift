import NetDevice
import Packets
import Wire

/// How flows find their core: the RSS hash (Toeplitz) and redirection table
/// the port (or the software steering in front of it) uses, and the queue
/// this stack serves. With it a stack counts packets that reach the wrong
/// core, and `tcpConnect` picks local ports whose replies hash to its own
/// queue, so an outgoing connection's answers come back to the core that
/// opened it.
public struct FlowSteering: Sendable {
    public let toeplitz: ToeplitzHash
    public let table: RSSRedirectionTable
    /// The receive queue (core) of this stack.
    public let queue: Int

    public init(toeplitz: ToeplitzHash, table: RSSRedirectionTable, queue: Int) {
        self.toeplitz = toeplitz
        self.table = table
        self.queue = queue
    }

    /// The queue a packet from `source:sourcePort` to `destination:destinationPort` lands on.
    @inlinable
    public func queue(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16, destinationPort: UInt16) -> Int {
        table.queue(for: toeplitz.hash(source: source, destination: destination,
                                       sourcePort: sourcePort, destinationPort: destinationPort))
    }

    /// Whether the replies of a connection from `local` to `remote` come to this queue.
    @inlinable
    public func ownsReplies(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16) -> Bool {
        queue(source: remote, destination: local, sourcePort: remotePort, destinationPort: localPort) == queue
    }

    /// The queue of TCP/UDP over IPv6 (the TCPv6/UDPv6 4-tuple).
    @inlinable
    public func queue(source: IPv6Address, destination: IPv6Address, sourcePort: UInt16, destinationPort: UInt16) -> Int {
        table.queue(for: toeplitz.hash(source: source, destination: destination,
                                       sourcePort: sourcePort, destinationPort: destinationPort))
    }

    /// As above for either family: v4-mapped addresses hash as IPv4.
    @inlinable
    public func ownsReplies(local: IPv6Address, localPort: UInt16, remote: IPv6Address, remotePort: UInt16) -> Bool {
        if let local4 = local.ipv4Mapped, let remote4 = remote.ipv4Mapped {
            return ownsReplies(local: local4, localPort: localPort, remote: remote4, remotePort: remotePort)
        }
        return queue(source: remote, destination: local, sourcePort: remotePort, destinationPort: localPort) == queue
    }
}

extension NetStack {
    /// Fills the packet's RSS hash (a device without hash reporting leaves
    /// it 0) and counts a TCP/UDP packet that hashes to another core's queue.
    @inline(__always)
    func countIfOnWrongCore(_ steering: FlowSteering, _ packet: PacketBuffer, _ delivery: IPv4Delivery,
                            sourcePort: UInt16, destinationPort: UInt16) {
        let hash = steering.toeplitz.hash(source: delivery.source, destination: delivery.destination,
                                          sourcePort: sourcePort, destinationPort: destinationPort)
        packet.rssHash = hash
        if steering.table.queue(for: hash) != steering.queue { tally[.flowOnWrongCore] += 1 }
    }

    /// The same for TCP/UDP over IPv6 (not for a reassembled datagram's
    /// ports: neither NICs nor `FlowKey` hash a fragment by them).
    @inline(__always)
    func countIfOnWrongCore(_ steering: FlowSteering, _ packet: PacketBuffer, _ delivery: IPv6Delivery,
                            sourcePort: UInt16, destinationPort: UInt16) {
        let hash = steering.toeplitz.hash(source: delivery.source, destination: delivery.destination,
                                          sourcePort: sourcePort, destinationPort: destinationPort)
        packet.rssHash = hash
        if steering.table.queue(for: hash) != steering.queue { tally[.flowOnWrongCore] += 1 }
    }
}
