import Testing
import Wire

@Suite struct InternetChecksumTests {
    @Test func rfc1071WorkedExample() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let bytes = hexBytes("0001 f203 f4f5 f6f7")
        bytes.withUnsafeBytes { raw in
            #expect(InternetChecksum.sum(raw) == 0xDDF2)
            #expect(InternetChecksum.checksum(raw) == 0x220D)
        }
    }

    @Test func knownIPv4HeaderChecksum() {
        // 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73, DF, TTL 64.
        var header = hexBytes("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
        header.withUnsafeBytes { #expect(InternetChecksum.checksum($0) == 0xB861) }
        header[10] = 0xB8
        header[11] = 0x61
        header.withUnsafeBytes { #expect(InternetChecksum.isValid($0)) }
        header[15] ^= 1
        header.withUnsafeBytes { #expect(!InternetChecksum.isValid($0)) }
    }

    @Test func matchesReferenceForEveryLengthAndAlignment() {
        var random = SplitMix(state: 1071)
        let pool = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        pool.withUnsafeBytes { raw in
            for start in 0..<8 {
                for length in 0..<(pool.count - start) {
                    let piece = Array(pool[start..<(start + length)])
                    let fast = InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
                    #expect(fast == referenceChecksumSum(piece), "length \(length) at offset \(start)")
                }
            }
        }
    }

    @Test func allOnesDataDoesNotOverflow() {
        let bytes = [UInt8](repeating: 0xFF, count: 9000)
        bytes.withUnsafeBytes { #expect(InternetChecksum.sum($0) == referenceChecksumSum(bytes)) }
    }

    @Test func piecesCombineAtEvenBoundaries() {
        var random = SplitMix(state: 7)
        let bytes = (0..<101).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes.withUnsafeBytes { raw in
            let whole = InternetChecksum.sum(raw)
            let first = InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[0..<40]))
            let chained = InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[40...]), initial: first)
            let combined = InternetChecksum.combine(
                first, InternetChecksum.sum(UnsafeRawBufferPointer(rebasing: raw[40...])))
            #expect(chained == whole)
            #expect(combined == whole)
        }
    }

    @Test func pseudoHeaderSumMatchesBytes() {
        let source = IPv4Address(10, 0, 0, 1), destination = IPv4Address(192, 168, 200, 254)
        let pseudo = hexBytes("0a00 0001 c0a8 c8fe 0011 05dc")
        let sum = InternetChecksum.pseudoHeaderSum(
            source: source, destination: destination, protocol: .udp, length: 1500)
        #expect(sum == referenceChecksumSum(pseudo))
    }

    @Test func incrementalUpdateMatchesRecomputation() {
        var random = SplitMix(state: 1624)
        for _ in 0..<500 {
            var header = (0..<20).map { _ in UInt8.random(in: 0...255, using: &random) }
            header[10] = 0
            header[11] = 0
            let original = header.withUnsafeBytes { InternetChecksum.checksum($0) }
            // Change a 16-bit field (TTL + protocol) and a 32-bit one (source address).
            let old16 = UInt16(header[8]) << 8 | UInt16(header[9])
            let new16 = UInt16.random(in: 0...0xFFFF, using: &random)
            header[8] = UInt8(new16 >> 8)
            header[9] = UInt8(new16 & 0xFF)
            let old32 = header[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let new32 = UInt32.random(in: 0...UInt32.max, using: &random)
            for index in 0..<4 { header[12 + index] = UInt8(truncatingIfNeeded: new32 >> (24 - 8 * index)) }
            let recomputed = header.withUnsafeBytes { InternetChecksum.checksum($0) }
            var updated = InternetChecksum.update(original, replacing: old16, with: new16)
            updated = InternetChecksum.update(updated, replacing: old32, with: new32)
            // Ones' complement has two zeros; compare as sums that verify.
            header[10] = UInt8(updated >> 8)
            header[11] = UInt8(updated & 0xFF)
            let verifies = header.withUnsafeBytes { InternetChecksum.isValid($0) }
            #expect(verifies, "incremental \(updated) vs recomputed \(recomputed)")
        }
    }
}
