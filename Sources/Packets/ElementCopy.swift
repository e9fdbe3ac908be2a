/// A forward copy of `count` values for the ring and the pool caches: a
/// plain loop rather than memmove, so that the short runs these move (1 to
/// a few dozen pointers) cost no call; LLVM vectorises it.
@inlinable @inline(__always)
func copyElements<Element: BitwiseCopyable>(
    from source: UnsafePointer<Element>, to target: UnsafeMutablePointer<Element>, count: Int
) {
    var i = 0
    while i < count {
        (target + i).initialize(to: source[i])
        i &+= 1
    }
}
