import Packets
import Wire

extension InternetChecksum {
    /// The ones' complement sum of a whole packet, across its segments
    /// (after reassembly a datagram is a chain). A segment that starts at an
    /// odd byte of the packet has its sum byte-swapped (RFC 1071 §2(B)).
    @inline(__always)
    static func sum(packet: PacketBuffer, initial: UInt32) -> UInt32 {
        if packet.isContiguous { return sum(packet.bytes, initial: initial) }
        var total = initial
        var oddStart = false
        var segment: PacketBuffer? = packet
        while let current = segment {
            var part = sum(current.bytes, initial: 0)
            if oddStart { part = oddOffset(part) }
            total = combine(total, part)
            if current.length & 1 == 1 { oddStart.toggle() }
            segment = current.nextSegment
        }
        return total
    }
}
