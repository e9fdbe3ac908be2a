import Foundation
import Platform

/// One line on standard output, unbuffered, so a script sees it at once.
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Elapsed seconds since `start` (TSCClock nanoseconds).
func elapsedSeconds(since start: UInt64) -> Double {
    Double(TSCClock.monotonicNanoseconds() - start) / 1e9
}
