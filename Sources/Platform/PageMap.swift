#if canImport(Glibc)
import Glibc
#endif

/// Virtual-to-physical translation through /proc/self/pagemap.
///
/// The kernel shows page frame numbers only to a process with CAP_SYS_ADMIN;
/// others read zeros, which we report as an error rather than hand a device
/// address 0.
public enum PageMap {
    static let smallPageSize = 4096

    /// The physical address of the byte at `address`; the page must be
    /// resident (locked memory is).
    public static func physicalAddress(of address: UnsafeRawPointer) throws(PlatformError) -> UInt64 {
        let fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .systemCall("open /proc/self/pagemap") }
        defer { close(fd) }
        return try physicalAddress(of: address, pagemap: fd)
    }

    static func physicalAddress(of address: UnsafeRawPointer, pagemap fd: Int32) throws(PlatformError) -> UInt64 {
        let virtual = UInt(bitPattern: address)
        let page = virtual / UInt(smallPageSize)
        var entry: UInt64 = 0
        let n = pread(fd, &entry, 8, off_t(page * 8))
        guard n == 8 else { throw .systemCall("read /proc/self/pagemap") }
        let present = entry & (1 << 63) != 0
        let frame = entry & ((1 << 55) - 1)
        guard present else {
            throw PlatformError(.invalidArgument, "page at \(address) is not resident")
        }
        guard frame != 0 else {
            throw PlatformError(
                .permissionDenied,
                "/proc/self/pagemap hides physical addresses: run as root (CAP_SYS_ADMIN) for IOVA = physical address")
        }
        return frame * UInt64(smallPageSize) + UInt64(virtual % UInt(smallPageSize))
    }
}
