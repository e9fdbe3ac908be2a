/// Socket descriptors are ints far above any kernel file descriptor, so a
/// kernel fd (stdin, a file) is recognised as "not a socket" (ENOTSOCK)
/// and a number in neither range as "bad descriptor" (EBADF):
///
///     descriptor = 1 << 26  |  core << 20  |  slot
///
/// 64 cores, 1,048,576 slots per core (a million connections on one core);
/// kernel descriptors below 2^26 never collide.
public enum SocketDescriptor {
    public static let base: Int32 = 1 << 26
    public static let maximumCores = 64
    public static let slotBits = 20
    public static let slotsPerCore = 1 << slotBits

    static func make(core: Int, slot: Int) -> Int32 {
        base | Int32(core) << Int32(slotBits) | Int32(slot)
    }

    /// (core, slot) of a descriptor in our range, nil otherwise.
    public static func decode(_ descriptor: Int32) -> (core: Int, slot: Int)? {
        guard descriptor >= base, descriptor < base + Int32(maximumCores << slotBits) else { return nil }
        let value = Int(descriptor - base)
        return (value >> slotBits, value & (slotsPerCore - 1))
    }
}
