import Glibc
import Sockets

// The Swift half of the LD_PRELOAD library (product dataplane-preload;
// its C half, Sources/CDataplanePreload, intercepts libc): the runtime is
// brought up from DP_ARGS before main, and the program's threads claim
// its cores as they touch sockets.

@_cdecl("dp_preload_start")
public func dp_preload_start(_ text: UnsafePointer<CChar>?) -> Int32 {
    guard let text else { return fail(EINVAL) }
    let arguments = String(cString: text).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    return startRuntime(arguments, caller: "dataplane-preload") { runtime in try runtime.startForApplicationThreads() }
}

/// 0 when the calling thread runs a core (claimed now or before), -1 when
/// every core belongs to another thread.
@_cdecl("dp_preload_claim")
public func dp_preload_claim() -> Int32 {
    guard let runtime = DataplaneRuntime.current, runtime.claimCore() != nil else { return -1 }
    return 0
}

/// At exit: what the calling thread's cores still hold leaves now (FINs
/// of sockets the program did not close, replies still queued).
@_cdecl("dp_preload_finish")
public func dp_preload_finish() {
    DataplaneRuntime.current?.flushAll()
}
