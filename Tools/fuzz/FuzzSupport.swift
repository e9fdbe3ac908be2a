// Shared helpers of the Wire fuzz targets (built by Tools/fuzz.sh, not by SwiftPM).
import Wire

/// Stops the run (libFuzzer records the input as a crash) when a property fails.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz property failed: \(message())") }
}

/// Runs `body` over a fresh allocation of exactly `count` bytes, so that
/// AddressSanitizer catches any write or read past what emit was given.
func withExactBuffer<R>(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 0), alignment: 1)
    buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
    defer { buffer.deallocate() }
    return body(buffer)
}

/// The libFuzzer input as bytes. Parsers only read; the mutable type is what
/// the views take.
func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: data), count: size)
}

/// Splits off the first 8 bytes as the pseudo-header's addresses (UDP/TCP targets).
func addressesAndRest(_ input: UnsafeMutableRawBufferPointer) -> (IPv4Address, IPv4Address, UnsafeMutableRawBufferPointer)? {
    guard input.count >= 8, let base = input.baseAddress else { return nil }
    let source = IPv4Address(loadingFrom: base)
    let destination = IPv4Address(loadingFrom: base + 4)
    return (source, destination, UnsafeMutableRawBufferPointer(rebasing: input[8...]))
}

/// A plain byte-at-a-time RFC 1071 sum to check the fast one against (the
/// word adding is what differs; the carry fold is Wire's one).
func referenceSum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var sum: UInt64 = 0
    var index = 0
    while index + 1 < bytes.count {
        sum += UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
        index += 2
    }
    if index < bytes.count { sum += UInt64(bytes[index]) << 8 }
    return InternetChecksum.fold(sum)
}
