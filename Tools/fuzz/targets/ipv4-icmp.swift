// Fuzz target: IPv4 and ICMPv4 parsing, and emit/parse round trips.
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let packet = try? IPv4Packet(checking: input) else { return 0 }
    _ = try? IPv4Repr.parse(packet)  // with checksum verification
    // Skip the checksum so the fuzzer reaches everything behind it.
    guard let ip = try? IPv4Repr.parse(packet, verifyChecksum: false) else { return 0 }
    require(ip.totalLength == packet.totalLength && ip.totalLength <= size, "IPv4 lengths")
    withExactBuffer(ip.headerLength) { buffer in
        ip.emit(into: IPv4Packet(unchecked: buffer))
        // The emitted header alone: total length covers a payload that is not there.
        let header = IPv4Packet(unchecked: buffer)
        require(header.isChecksumValid, "IPv4 emitted checksum")
        require(header.headerLength == ip.headerLength && header.totalLength == ip.totalLength, "IPv4 emitted lengths")
    }
    withExactBuffer(ip.totalLength) { buffer in
        ip.emit(into: IPv4Packet(unchecked: buffer))
        let again = (try? IPv4Packet(checking: buffer)).flatMap { try? IPv4Repr.parse($0) }
        require(again == ip, "IPv4 round trip")
    }

    // Every payload goes through the ICMP parser, whatever the protocol says.
    guard let message = try? ICMPv4Message(checking: packet.payload) else { return 0 }
    _ = try? ICMPv4Repr.parse(message)
    guard let icmp = try? ICMPv4Repr.parse(message, verifyChecksum: false) else { return 0 }
    withExactBuffer(icmp.bufferLength) { buffer in
        let out = ICMPv4Message(unchecked: buffer)
        switch icmp {
        case .echoRequest, .echoReply:
            out.payload.copyMemory(from: UnsafeRawBufferPointer(message.payload))
        default:
            break
        }
        icmp.emit(into: out)
        let again = (try? ICMPv4Message(checking: buffer)).flatMap { try? ICMPv4Repr.parse($0) }
        require(again == icmp, "ICMP round trip")
    }
    return 0
}
