import Platform
#if canImport(Glibc)
import Glibc
#endif

/// Where dp-devbind reads the system: the real /sys and /proc, or a fixture
/// tree in tests. Nothing here writes.
public struct SystemView: Sendable {
    /// /sys/bus/pci
    public var pciRoot: String
    /// /sys/class/net
    public var netClassRoot: String
    /// /proc/net
    public var procNetRoot: String
    /// Interface name to its addresses; nil means ask getifaddrs().
    public var addresses: [String: [String]]?

    public init(
        pciRoot: String = "/sys/bus/pci", netClassRoot: String = "/sys/class/net",
        procNetRoot: String = "/proc/net", addresses: [String: [String]]? = nil
    ) {
        self.pciRoot = pciRoot
        self.netClassRoot = netClassRoot
        self.procNetRoot = procNetRoot
        self.addresses = addresses
    }

    /// A fixture tree laid out like the root file system (ROOT/sys/bus/pci,
    /// ROOT/sys/class/net, ROOT/proc/net), with the given addresses.
    public static func fixture(root: String, addresses: [String: [String]] = [:]) -> SystemView {
        SystemView(
            pciRoot: root + "/sys/bus/pci", netClassRoot: root + "/sys/class/net",
            procNetRoot: root + "/proc/net", addresses: addresses)
    }

    /// True when the interface is administratively up (IFF_UP in sysfs flags).
    public func isUp(_ interface: String) -> Bool {
        guard let flags = SystemFiles.readInteger(netClassRoot + "/" + interface + "/flags") else { return false }
        return flags & 0x1 != 0
    }

    /// The interface's IPv4 and IPv6 addresses as text.
    public func addresses(of interface: String) -> [String] {
        if let addresses { return addresses[interface] ?? [] }
        var result = [String]()
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard String(cString: entry.pointee.ifa_name) == interface, let address = entry.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(address, socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size),
                           &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                result.append(String(cString: text))
            }
        }
        return result
    }

    /// Interfaces that carry a route, from /proc/net/route and ipv6_route.
    public func routedInterfaces() -> Set<String> {
        Set(routes().map(\.interface))
    }

    /// Interfaces that carry a default route (IPv4 or IPv6).
    public func defaultRouteInterfaces() -> Set<String> {
        Set(routes().filter(\.isDefault).map(\.interface))
    }

    private func routes() -> [(interface: String, isDefault: Bool)] {
        var result = [(interface: String, isDefault: Bool)]()
        // "Iface Destination Gateway Flags RefCnt Use Metric Mask ...", hex.
        for line in (SystemFiles.read(procNetRoot + "/route") ?? "").split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8 else { continue }
            result.append((String(fields[0]), fields[1] == "00000000" && fields[7] == "00000000"))
        }
        // "dest prefixlen src srclen nexthop metric refcnt use flags iface".
        for line in (SystemFiles.read(procNetRoot + "/ipv6_route") ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 10, fields[9] != "lo" else { continue }
            result.append((String(fields[9]), fields[0].allSatisfy { $0 == "0" } && fields[1] == "00"))
        }
        return result
    }
}
