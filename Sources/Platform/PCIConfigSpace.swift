#if canImport(Glibc)
import Glibc
#endif

/// Reads (and, inside the lab guest, writes) a function's configuration
/// space through sysfs `config`. Reads of more than 64 bytes need root.
public struct PCIConfigSpace: Sendable {
    public let address: PCIAddress
    public let path: String

    public init(address: PCIAddress, sysfsRoot: String = "/sys/bus/pci") {
        self.address = address
        self.path = sysfsRoot + "/devices/\(address)/config"
    }

    public func read8(_ offset: Int) throws(PlatformError) -> UInt8 { try read(offset, as: UInt8.self) }
    public func read16(_ offset: Int) throws(PlatformError) -> UInt16 { UInt16(littleEndian: try read(offset, as: UInt16.self)) }
    public func read32(_ offset: Int) throws(PlatformError) -> UInt32 { UInt32(littleEndian: try read(offset, as: UInt32.self)) }

    public func write16(_ offset: Int, _ value: UInt16) throws(PlatformError) { try write(offset, value.littleEndian) }
    public func write32(_ offset: Int, _ value: UInt32) throws(PlatformError) { try write(offset, value.littleEndian) }

    private func read<T: FixedWidthInteger>(_ offset: Int, as: T.Type) throws(PlatformError) -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("open \(path)") }
        defer { close(fd) }
        var value = T.zero
        let n = pread(fd, &value, MemoryLayout<T>.size, off_t(offset))
        guard n == MemoryLayout<T>.size else {
            throw PlatformError(.systemCall, "read of \(MemoryLayout<T>.size) bytes at config offset \(offset) of \(address) returned \(n)")
        }
        return value
    }

    private func write<T: FixedWidthInteger>(_ offset: Int, _ value: T) throws(PlatformError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("open \(path) for writing") }
        defer { close(fd) }
        var copy = value
        let n = pwrite(fd, &copy, MemoryLayout<T>.size, off_t(offset))
        guard n == MemoryLayout<T>.size else { throw .systemCall("write config offset \(offset) of \(address)") }
    }
}
