// Fuzz target: Ethernet II (+ 802.1Q) and ARP parsing, and emit/parse round trips.
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let frame = try? EthernetFrame(checking: input) else { return 0 }
    let ethernet = EthernetRepr.parse(frame)
    require(ethernet.headerLength == frame.headerLength, "Ethernet header length")
    require(frame.payload.count == size - frame.headerLength, "Ethernet payload length")
    withExactBuffer(ethernet.headerLength) { buffer in
        ethernet.emit(into: EthernetFrame(unchecked: buffer))
        let again = try? EthernetFrame(checking: buffer)
        require(again.map(EthernetRepr.parse) == ethernet, "Ethernet round trip")
    }

    // Every payload goes through the ARP parser, whatever the EtherType says.
    guard let packet = try? ARPPacket(checking: frame.payload), let arp = try? ARPRepr.parse(packet) else {
        return 0
    }
    withExactBuffer(arp.bufferLength) { buffer in
        arp.emit(into: ARPPacket(unchecked: buffer))
        let again = (try? ARPPacket(checking: buffer)).flatMap { try? ARPRepr.parse($0) }
        require(again == arp, "ARP round trip")
        require(buffer.elementsEqual(frame.payload.prefix(ARPPacket.length)), "ARP emit reproduces the bytes")
    }
    return 0
}
