// Whole-stack fuzz target: ARP, IPv4 with reassembly, ICMP, UDP, TCP and
// sockets over one NetStack, driven by a program of frames, clock steps and
// socket calls (Tools/fuzz-stack.sh builds it; Docs/ROBUSTNESS.md).
import StackFuzzSupport

// swiftc's -sanitize=fuzzer compiles as a library: libFuzzer's main drives this.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    StackFuzzWorld().run(&input, mix: .whole)
    return 0
}
