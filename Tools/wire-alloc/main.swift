// dp-wire-alloc: proves that Wire's parse and emit paths allocate nothing.
// Builds one packet per header family, then parses every layer and emits it
// again many times while counting mallocs (ordo-one/malloc-interposer).
// Exits 1 if any path allocated, or if the counter demonstrably does not
// count (so the check cannot pass by accident).
#if canImport(Glibc)
import Glibc
#endif
import MallocInterposerSwift
import Wire

let rounds = 10_000
let source = IPv4Address(10, 0, 0, 1)
let destination = IPv4Address(10, 0, 0, 2)
let macA = MACAddress(0x52, 0x54, 0x00, 0x12, 0x34, 0x56)
let macB = MACAddress(0x02, 0x00, 0x00, 0xAA, 0xBB, 0xCC)

/// A buffer that lives for the whole run (allocated before counting starts).
func buffer(_ count: Int) -> UnsafeMutableRawBufferPointer {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
    bytes.initializeMemory(as: UInt8.self, repeating: 0)
    return bytes
}

func sub(_ bytes: UnsafeMutableRawBufferPointer, _ from: Int) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(rebasing: bytes[from...])
}

// Ethernet(VLAN) + IPv4 + UDP with 64 bytes of payload.
let udpFrame = buffer(18 + 20 + 8 + 64)
let udpEthernet = EthernetRepr(destination: macB, source: macA, etherType: .ipv4, vlanTag: VLANTag(identifier: 100))
let udpIP = IPv4Repr(source: source, destination: destination, protocol: .udp, payloadLength: 72)
let udpRepr = UDPRepr(sourcePort: 5000, destinationPort: 7, payloadLength: 64)
udpEthernet.emit(into: EthernetFrame(unchecked: udpFrame))
udpIP.emit(into: IPv4Packet(unchecked: sub(udpFrame, 18)))
udpRepr.emit(into: UDPDatagram(unchecked: sub(udpFrame, 38)), source: source, destination: destination)

// IPv4 + TCP with every option kind.
let tcpRepr = TCPRepr(
    sourcePort: 40000, destinationPort: 80, sequenceNumber: 1, acknowledgmentNumber: 2, flags: [.ack], window: 512,
    options: TCPOptions(
        maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
        sackBlocks: TCPSACKBlocks([TCPSACKBlock(left: 10, right: 20), TCPSACKBlock(left: 30, right: 40)]),
        timestamp: (5, 6)))
let tcpIP = IPv4Repr(source: source, destination: destination, protocol: .tcp, payloadLength: tcpRepr.headerLength + 100)
let tcpPacket = buffer(tcpIP.totalLength)
tcpIP.emit(into: IPv4Packet(unchecked: tcpPacket))
tcpRepr.emit(into: TCPSegment(unchecked: sub(tcpPacket, 20)), source: source, destination: destination)

// IPv4 + ICMP port unreachable, ARP request, and an IPv4 header with a bad checksum.
let quote = ICMPv4Quote(header: udpIP, leadingBytes: 0x1388_0007_0048_0000)
let icmpRepr = ICMPv4Repr.destinationUnreachable(code: .port, nextHopMTU: 0, original: quote)
let icmpIP = IPv4Repr(source: destination, destination: source, protocol: .icmp, payloadLength: icmpRepr.bufferLength)
let icmpPacket = buffer(icmpIP.totalLength)
icmpIP.emit(into: IPv4Packet(unchecked: icmpPacket))
icmpRepr.emit(into: ICMPv4Message(unchecked: sub(icmpPacket, 20)))
let arpRepr = ARPRepr(
    operation: .request, senderHardwareAddress: macA, senderProtocolAddress: source, targetHardwareAddress: .zero,
    targetProtocolAddress: destination)
let arpPacket = buffer(28)
arpRepr.emit(into: ARPPacket(unchecked: arpPacket))
let badPacket = buffer(40)
badPacket.copyMemory(from: UnsafeRawBufferPointer(rebasing: tcpPacket[0..<40]))
badPacket[11] ^= 0xFF

// IPv6 + destination options + UDP, and IPv6 + an NDP neighbour solicitation.
let source6 = IPv6Address(linkLocalFrom: macA)
let destination6 = IPv6Address(0xfd20, 0, 0, 0, 0, 0, 0, 2)
let udp6Packet = buffer(40 + 8 + 8 + 64)
IPv6Repr(source: source6, destination: destination6, nextHeader: .ipv6DestinationOptions, payloadLength: 80)
    .emit(into: IPv6Packet(unchecked: udp6Packet))
UnsafeMutableRawBufferPointer(rebasing: udp6Packet[40..<48]).copyBytes(from: [17, 0, 1, 4, 0, 0, 0, 0] as [UInt8])
UDPRepr(sourcePort: 5000, destinationPort: 7, payloadLength: 64)
    .emit(into: UDPDatagram(unchecked: sub(udp6Packet, 48)), source: source6, destination: destination6)
let nsRepr = ICMPv6Repr.ndp(.neighborSolicitation(target: destination6, options: NDPOptions(sourceLinkAddress: macA)))
let ns6Packet = buffer(40 + nsRepr.bufferLength)
IPv6Repr(source: source6, destination: destination6.solicitedNodeMulticast, nextHeader: .icmpv6,
         payloadLength: nsRepr.bufferLength, hopLimit: 255).emit(into: IPv6Packet(unchecked: ns6Packet))
nsRepr.emit(into: ICMPv6Message(unchecked: sub(ns6Packet, 40)), source: source6, destination: destination6.solicitedNodeMulticast)

let output = buffer(2048)
var sink = 0

/// Counts mallocs during `rounds` runs of `body` (after one warm-up run).
func mallocs(_ name: String, _ body: () -> Void) -> Int {
    body()
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    for _ in 0..<rounds { body() }
    MallocInterposerSwift.unhook()
    let count = MallocInterposerSwift.getStatistics().mallocCount
    print(name + String(repeating: " ", count: max(1, 36 - name.count)) + "\(count) mallocs in \(rounds) rounds")
    return count
}

var total = 0
total += mallocs("ethernet+vlan/ipv4/udp parse+emit") {
    do throws(WireError) {
        let frame = try EthernetFrame(checking: udpFrame)
        let ethernet = EthernetRepr.parse(frame)
        let packet = try IPv4Packet(checking: frame.payload)
        let ip = try IPv4Repr.parse(packet)
        let datagram = try UDPDatagram(checking: packet.payload)
        let udp = try UDPRepr.parse(datagram, source: ip.source, destination: ip.destination)
        ethernet.emit(into: EthernetFrame(unchecked: output))
        ip.emit(into: IPv4Packet(unchecked: sub(output, 18)))
        udp.emit(into: UDPDatagram(unchecked: sub(output, 38)), source: ip.destination, destination: ip.source)
        sink &+= udp.payloadLength &+ Int(InternetChecksum.update(0x1234, replacing: ip.source.value, with: 7))
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("ipv4/tcp+options parse+emit") {
    do throws(WireError) {
        let packet = try IPv4Packet(checking: tcpPacket)
        let ip = try IPv4Repr.parse(packet)
        let tcp = try TCPRepr.parse(try TCPSegment(checking: packet.payload), source: ip.source, destination: ip.destination)
        tcp.emit(into: TCPSegment(unchecked: UnsafeMutableRawBufferPointer(rebasing: output[0..<tcp.headerLength])),
                 source: ip.destination, destination: ip.source)
        sink &+= tcp.options.sackBlocks.count &+ Int(tcp.options.timestamp?.value ?? 0)
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("ipv4/icmp unreachable parse+emit") {
    do throws(WireError) {
        let packet = try IPv4Packet(checking: icmpPacket)
        _ = try IPv4Repr.parse(packet)
        let icmp = try ICMPv4Repr.parse(try ICMPv4Message(checking: packet.payload))
        icmp.emit(into: ICMPv4Message(unchecked: UnsafeMutableRawBufferPointer(rebasing: output[0..<icmp.bufferLength])))
        if case .destinationUnreachable(_, _, let original) = icmp { sink &+= Int(original.destinationPort) }
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("arp parse+emit") {
    do throws(WireError) {
        let arp = try ARPRepr.parse(try ARPPacket(checking: arpPacket))
        arp.emit(into: ARPPacket(unchecked: output))
        sink &+= Int(arp.targetProtocolAddress.value)
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("ipv6/dest-opts/udp parse+emit") {
    do throws(WireError) {
        let packet = try IPv6Packet(checking: udp6Packet)
        let ip = try IPv6Repr.parse(packet)
        let chain = try IPv6HeaderChain.parse(packet.payload, first: ip.nextHeader)
        let datagram = try UDPDatagram(checking: sub(packet.payload, chain.upperLayerOffset))
        let udp = try UDPRepr.parse(datagram, source: ip.source, destination: ip.destination)
        ip.emit(into: IPv6Packet(unchecked: output))
        udp.emit(into: UDPDatagram(unchecked: sub(output, 40)), source: ip.destination, destination: ip.source)
        sink &+= udp.payloadLength &+ chain.headerCount
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("ipv6/ndp solicitation parse+emit") {
    do throws(WireError) {
        let packet = try IPv6Packet(checking: ns6Packet)
        let ip = try IPv6Repr.parse(packet)
        let message = try ICMPv6Message(checking: packet.payload)
        let icmp = try ICMPv6Repr.parse(message, source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit)
        icmp.emit(into: ICMPv6Message(unchecked: UnsafeMutableRawBufferPointer(rebasing: output[0..<icmp.bufferLength])),
                  source: ip.source, destination: ip.destination)
        if case .ndp(let ndp) = icmp { sink &+= ndp.options.sourceLinkAddress == nil ? 0 : 1 }
    } catch {
        sink &+= error.name.utf8.count
    }
}
total += mallocs("ipv4 bad checksum (error path)") {
    do throws(WireError) {
        _ = try IPv4Repr.parse(try IPv4Packet(checking: badPacket))
    } catch {
        sink &+= error == .badChecksum ? 1 : 1000
    }
}

// The counter must see an allocation made on purpose, or the zeros above mean nothing.
MallocInterposerSwift.initialize()
MallocInterposerSwift.hook()
let probe = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
MallocInterposerSwift.unhook()
probe.deallocate()
let probeCount = MallocInterposerSwift.getStatistics().mallocCount

print("(sink \(sink))")
if probeCount == 0 {
    print("dp-wire-alloc: FAILED: the malloc counter did not see a deliberate allocation; the interposer is not active")
    exit(1)
}
if total != 0 {
    print("dp-wire-alloc: FAILED: Wire allocated \(total) times; parse/emit must not allocate")
    exit(1)
}
print("dp-wire-alloc: 0 allocations on every parse/emit path")
