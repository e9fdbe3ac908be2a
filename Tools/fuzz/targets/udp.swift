// Fuzz target: UDP parsing with pseudo-header checksums, emit/parse round
// trips, and the fast checksum against a plain reference. Input: 4 bytes
// source address, 4 bytes destination address, then the datagram.
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    require(InternetChecksum.sum(UnsafeRawBufferPointer(input)) == referenceSum(UnsafeRawBufferPointer(input)), "checksum sum")
    guard let (source, destination, bytes) = addressesAndRest(input) else { return 0 }
    guard let datagram = try? UDPDatagram(checking: bytes) else { return 0 }
    _ = try? UDPRepr.parse(datagram, source: source, destination: destination)
    guard let udp = try? UDPRepr.parse(datagram, source: source, destination: destination, verifyChecksum: false)
    else { return 0 }
    require(udp.datagramLength == datagram.length && datagram.payload.count == udp.payloadLength, "UDP lengths")
    withExactBuffer(udp.datagramLength) { buffer in
        let out = UDPDatagram(unchecked: buffer)
        udp.emit(into: out, source: source, destination: destination, checksum: .omit)
        out.payload.copyMemory(from: UnsafeRawBufferPointer(datagram.payload))
        out.fillChecksum(source: source, destination: destination)
        require(out.checksum != 0, "UDP emitted checksum is never zero")
        let again = (try? UDPDatagram(checking: buffer)).flatMap {
            try? UDPRepr.parse($0, source: source, destination: destination)
        }
        require(again == udp, "UDP round trip")
    }
    return 0
}
