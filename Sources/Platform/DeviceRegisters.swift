import CPlatform
#if canImport(Glibc)
import Glibc
#endif

/// The registers of one BAR: volatile 8/16/32-bit accesses at byte offsets,
/// whatever backs the BAR. Drivers hold this small value and call it on the
/// fast path; memory BARs inline to one `mov`.
public struct DeviceRegisters: @unchecked Sendable {
    /// How the BAR is reached from this process.
    public enum Space: @unchecked Sendable {
        /// A memory BAR mapped into this process (VFIO mmap or sysfs resourceN).
        case memory(UnsafeMutableRawPointer)
        /// An I/O-port BAR reached with in/out instructions after iopl(3) (UIO);
        /// only threads created after the BAR was mapped inherit the privilege.
        case ports(base: UInt16)
        /// A BAR reached through pread/pwrite on a VFIO device file at an
        /// offset (I/O-port BARs under VFIO): one system call per access.
        case vfioRegion(fd: Int32, offset: Int64)
    }

    public let space: Space
    /// The BAR's length in bytes.
    public let size: Int

    public init(space: Space, size: Int) {
        self.space = space
        self.size = size
    }

    /// The mapped base of a memory BAR, nil for port BARs.
    public var baseAddress: UnsafeMutableRawPointer? {
        if case .memory(let base) = space { return base }
        return nil
    }

    public var isPortSpace: Bool {
        if case .memory = space { return false }
        return true
    }

    @inlinable
    public func read32(_ offset: Int) -> UInt32 {
        assert(offset >= 0 && offset + 4 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): return dp_read32(base + offset)
        case .ports(let port): return dp_inl(port &+ UInt16(truncatingIfNeeded: offset))
        case .vfioRegion(let fd, let region): return UInt32(littleEndian: Self.pread(fd, region + Int64(offset)))
        }
    }

    @inlinable
    public func read16(_ offset: Int) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): return dp_read16(base + offset)
        case .ports(let port): return dp_inw(port &+ UInt16(truncatingIfNeeded: offset))
        case .vfioRegion(let fd, let region): return UInt16(littleEndian: Self.pread(fd, region + Int64(offset)))
        }
    }

    @inlinable
    public func read8(_ offset: Int) -> UInt8 {
        assert(offset >= 0 && offset + 1 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): return dp_read8(base + offset)
        case .ports(let port): return dp_inb(port &+ UInt16(truncatingIfNeeded: offset))
        case .vfioRegion(let fd, let region): return Self.pread(fd, region + Int64(offset))
        }
    }

    @inlinable
    public func write32(_ offset: Int, _ value: UInt32) {
        assert(offset >= 0 && offset + 4 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): dp_write32(base + offset, value)
        case .ports(let port): dp_outl(port &+ UInt16(truncatingIfNeeded: offset), value)
        case .vfioRegion(let fd, let region): Self.pwrite(fd, region + Int64(offset), value.littleEndian)
        }
    }

    @inlinable
    public func write16(_ offset: Int, _ value: UInt16) {
        assert(offset >= 0 && offset + 2 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): dp_write16(base + offset, value)
        case .ports(let port): dp_outw(port &+ UInt16(truncatingIfNeeded: offset), value)
        case .vfioRegion(let fd, let region): Self.pwrite(fd, region + Int64(offset), value.littleEndian)
        }
    }

    @inlinable
    public func write8(_ offset: Int, _ value: UInt8) {
        assert(offset >= 0 && offset + 1 <= size, "register offset \(offset) outside BAR of \(size) bytes")
        switch space {
        case .memory(let base): dp_write8(base + offset, value)
        case .ports(let port): dp_outb(port &+ UInt16(truncatingIfNeeded: offset), value)
        case .vfioRegion(let fd, let region): Self.pwrite(fd, region + Int64(offset), value)
        }
    }

    /// A failed read returns all ones, as a read of a vanished PCI device does.
    @usableFromInline
    static func pread<T: FixedWidthInteger>(_ fd: Int32, _ offset: Int64) -> T {
        var value = T.zero
        let n = Glibc.pread(fd, &value, MemoryLayout<T>.size, off_t(offset))
        return n == MemoryLayout<T>.size ? value : ~T.zero
    }

    @usableFromInline
    static func pwrite<T: FixedWidthInteger>(_ fd: Int32, _ offset: Int64, _ value: T) {
        var copy = value
        _ = Glibc.pwrite(fd, &copy, MemoryLayout<T>.size, off_t(offset))
    }
}
