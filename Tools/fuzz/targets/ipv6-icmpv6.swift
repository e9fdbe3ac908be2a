// Fuzz target: IPv6 fixed header, extension header chain, ICMPv6 and NDP,
// UDP and TCP over IPv6, and the address text forms; emit/parse round trips.
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    checkAddressText(input)
    guard let packet = try? IPv6Packet(checking: input), let ip = try? IPv6Repr.parse(packet) else { return 0 }
    require(ip.totalLength == packet.totalLength && ip.totalLength <= size, "IPv6 lengths")
    withExactBuffer(IPv6Packet.headerLength) { buffer in
        ip.emit(into: IPv6Packet(unchecked: buffer))
        let again = try? IPv6Repr.parse(IPv6Packet(unchecked: buffer))
        require(again == ip, "IPv6 round trip")
    }
    guard let chain = try? IPv6HeaderChain.parse(packet.payload, first: ip.nextHeader) else { return 0 }
    require(chain.headerCount <= IPv6HeaderChain.maximumHeaders, "IPv6 chain bound")
    require(chain.upperLayerOffset <= packet.payload.count, "IPv6 chain offset")
    if let fragment = chain.fragment {
        withExactBuffer(IPv6FragmentHeader.length) { buffer in
            fragment.emit(into: buffer)
            require(IPv6FragmentHeader.parse(buffer) == fragment, "IPv6 fragment round trip")
        }
        if fragment.fragmentOffset != 0 { return 0 }
    }
    let upper = UnsafeMutableRawBufferPointer(rebasing: packet.payload[chain.upperLayerOffset...])
    // Every upper layer goes through each parser, whatever the header says.
    checkICMPv6(upper, ip)
    if let datagram = try? UDPDatagram(checking: upper) {
        _ = try? UDPRepr.parse(datagram, source: ip.source, destination: ip.destination)
    }
    if let segment = try? TCPSegment(checking: upper) {
        _ = try? TCPRepr.parse(segment, source: ip.source, destination: ip.destination)
    }
    return 0
}

/// Any text that parses prints canonically and parses back to the same address.
func checkAddressText(_ input: UnsafeMutableRawBufferPointer) {
    guard input.count <= 64 else { return }
    let text = String(decoding: input, as: UTF8.self)
    if let address = IPv6Address(text) {
        require(IPv6Address(address.description) == address, "IPv6 text round trip")
    }
    if let network = IPv6Network(text) {
        require((0...128).contains(network.prefixLength), "IPv6 prefix bound")
    }
}

func checkICMPv6(_ upper: UnsafeMutableRawBufferPointer, _ ip: IPv6Repr) {
    guard let message = try? ICMPv6Message(checking: upper) else { return }
    _ = try? ICMPv6Repr.parse(message, source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit)
    guard let icmp = try? ICMPv6Repr.parse(
        message, source: ip.source, destination: ip.destination, hopLimit: 255, verifyChecksum: false)
    else { return }
    switch icmp {
    case .destinationUnreachable, .packetTooBig, .timeExceeded, .parameterProblem:
        _ = try? ICMPv6Quote.parse(message.body)
    default:
        break
    }
    withExactBuffer(icmp.bufferLength) { buffer in
        let out = ICMPv6Message(unchecked: buffer)
        if case .ndp = icmp {} else { out.body.copyMemory(from: UnsafeRawBufferPointer(message.body)) }
        icmp.emit(into: out, source: ip.source, destination: ip.destination)
        require(out.isChecksumValid(source: ip.source, destination: ip.destination), "ICMPv6 emitted checksum")
        let again = try? ICMPv6Repr.parse(out, source: ip.source, destination: ip.destination, hopLimit: 255)
        require(again == icmp, "ICMPv6 round trip")
    }
}
