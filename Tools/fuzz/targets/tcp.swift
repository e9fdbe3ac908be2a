// Fuzz target: TCP header and options parsing, and emit/parse round trips.
// Input: 4 bytes source address, 4 bytes destination address, then the segment.
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let (source, destination, bytes) = addressesAndRest(input) else { return 0 }
    guard let segment = try? TCPSegment(checking: bytes) else { return 0 }
    _ = try? TCPRepr.parse(segment, source: source, destination: destination)
    guard let tcp = try? TCPRepr.parse(segment, source: source, destination: destination, verifyChecksum: false)
    else { return 0 }
    require(tcp.headerLength <= TCPSegment.maximumHeaderLength && tcp.headerLength % 4 == 0, "TCP header length")
    let payload = segment.payload
    withExactBuffer(tcp.headerLength + payload.count) { buffer in
        UnsafeMutableRawBufferPointer(rebasing: buffer[tcp.headerLength...])
            .copyMemory(from: UnsafeRawBufferPointer(payload))
        tcp.emit(into: TCPSegment(unchecked: buffer), source: source, destination: destination)
        guard let view = try? TCPSegment(checking: buffer),
            let again = try? TCPRepr.parse(view, source: source, destination: destination)
        else {
            require(false, "TCP emitted segment does not parse")
            return
        }
        // SACK blocks that no longer fit beside the other options are dropped, the first ones kept.
        require(again.options.sackBlocks.elementsEqual(tcp.options.sackBlocks.prefix(again.options.sackBlocks.count)), "TCP SACK prefix")
        var expected = tcp
        expected.options.sackBlocks = again.options.sackBlocks
        require(again == expected, "TCP round trip")
        require(view.payload.elementsEqual(payload), "TCP payload kept")
    }
    return 0
}
