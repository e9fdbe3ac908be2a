// Whole-stack fuzz target leaning on TCP: listeners, connections both ways
// and the socket calls on them, segments mostly inside the window
// (Tools/fuzz-stack.sh builds it; Docs/ROBUSTNESS.md).
import StackFuzzSupport

// swiftc's -sanitize=fuzzer compiles as a library: libFuzzer's main drives this.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    StackFuzzWorld().run(&input, mix: .tcp)
    return 0
}
