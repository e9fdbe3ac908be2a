/// What the kernel offers in hugepages, read from sysfs.
public struct HugepageInfo: Sendable, Equatable {
    /// Page size in bytes (2 MiB or 1 GiB on x86-64).
    public let pageSize: Int
    public let total: Int
    public let free: Int

    /// Every hugepage size the kernel knows, smallest first, with counts.
    public static func all(sysfsRoot: String = "/sys/kernel/mm/hugepages") -> [HugepageInfo] {
        SystemFiles.list(sysfsRoot).compactMap { name in
            // "hugepages-2048kB"
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                let kilobytes = Int(name.dropFirst("hugepages-".count).dropLast(2))
            else { return nil }
            let dir = sysfsRoot + "/" + name
            return HugepageInfo(
                pageSize: kilobytes * 1024,
                total: SystemFiles.readInteger(dir + "/nr_hugepages") ?? 0,
                free: SystemFiles.readInteger(dir + "/free_hugepages") ?? 0)
        }.sorted { $0.pageSize < $1.pageSize }
    }

    /// The text a user needs when there are too few pages of this size.
    public func shortageMessage(needed: Int) -> String {
        let kb = pageSize / 1024
        return "\(free) free \(kb) kB hugepages, \(needed) needed: write \(total - free + needed) "
            + "to /sys/kernel/mm/hugepages/hugepages-\(kb)kB/nr_hugepages"
            + (kb == 2048 ? " (or /proc/sys/vm/nr_hugepages)" : "")
    }
}
