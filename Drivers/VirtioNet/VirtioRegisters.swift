/// Volatile accesses to one region of a device (a BAR, or a window of one),
/// at byte offsets. Memory BARs, I/O-port BARs and the software device model
/// of the tests all look like this to the transports.
///
/// Only set-up code and the once-per-burst doorbell go through here: the
/// per-packet path touches DMA memory only.
public protocol VirtioRegisters {
    /// The region's length in bytes.
    var size: Int { get }
    func read8(_ offset: Int) -> UInt8
    func read16(_ offset: Int) -> UInt16
    func read32(_ offset: Int) -> UInt32
    func write8(_ offset: Int, _ value: UInt8)
    func write16(_ offset: Int, _ value: UInt16)
    func write32(_ offset: Int, _ value: UInt32)
}

extension VirtioRegisters {
    /// A 64-bit register written as two 32-bit halves, low first (the
    /// virtio common configuration's queue addresses).
    func write64(_ offset: Int, _ value: UInt64) {
        write32(offset, UInt32(truncatingIfNeeded: value))
        write32(offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
}

/// A window `[offset, offset + size)` of another register region: what a
/// modern virtio capability describes. Its bounds were checked against the
/// BAR when the capability was read.
struct VirtioRegisterWindow {
    let base: any VirtioRegisters
    let offset: Int
    let size: Int

    func read8(_ at: Int) -> UInt8 { base.read8(offset + at) }
    func read16(_ at: Int) -> UInt16 { base.read16(offset + at) }
    func read32(_ at: Int) -> UInt32 { base.read32(offset + at) }
    func write8(_ at: Int, _ value: UInt8) { base.write8(offset + at, value) }
    func write16(_ at: Int, _ value: UInt16) { base.write16(offset + at, value) }
    func write32(_ at: Int, _ value: UInt32) { base.write32(offset + at, value) }
    func write64(_ at: Int, _ value: UInt64) { base.write64(offset + at, value) }
}
