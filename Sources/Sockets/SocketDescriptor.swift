/// Socket descriptors are ints far above any kernel file descriptor, so a
/// kernel fd (stdin, a file) is recognised as "not a socket" (ENOTSOCK)
/// and a number in neither range as "bad descriptor" (EBADF):
///
///     descriptor = 1 << 20  |  core << 16  |  slot
///
/// 64 cores, 65,536 slots per core.
public enum SocketDescriptor {
    public static let base: Int32 = 1 << 20
    public static let maximumCores = 64
    public static let slotsPerCore = 1 << 16

    static func make(core: Int, slot: Int) -> Int32 {
        base | Int32(core) << 16 | Int32(slot)
    }

    /// (core, slot) of a descriptor in our range, nil otherwise.
    public static func decode(_ descriptor: Int32) -> (core: Int, slot: Int)? {
        guard descriptor >= base, descriptor < base + Int32(maximumCores << 16) else { return nil }
        let value = Int(descriptor - base)
        return (value >> 16, value & 0xFFFF)
    }
}
