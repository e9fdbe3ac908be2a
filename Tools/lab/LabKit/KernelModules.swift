/// Finds kernel modules in an unpacked linux-image package and orders them
/// so that each loads after the modules it depends on (the package has no
/// modules.dep: that is made by depmod at install time, so the dependencies
/// are read from each module's own `.modinfo` "depends=" field).
public struct KernelModules {
    /// The modules an access mode needs, by name; their dependencies follow.
    public static let labModules = ["uio_pci_generic", "vfio_iommu_type1", "vfio_pci"]

    /// Module name (with '_' for '-') to path relative to the modules root.
    public let paths: [String: String]
    private let dependencies: (String) -> [String]

    public init(paths: [String: String], dependencies: @escaping (String) -> [String]) {
        self.paths = paths
        self.dependencies = dependencies
    }

    /// Indexes `modulesRoot` (…/lib/modules/VERSION) with `find`.
    public static func scan(modulesRoot: String) throws(LabError) -> KernelModules {
        let listing = try Subprocess.check(["find", modulesRoot + "/kernel", "-name", "*.ko"])
        var paths = [String: String]()
        for line in listing.split(separator: "\n") {
            let relative = String(line.dropFirst(modulesRoot.count + 1))
            paths[name(ofPath: relative)] = relative
        }
        return KernelModules(paths: paths) { relativePath in
            guard let bytes = try? LabFiles.read(modulesRoot + "/" + relativePath) else { return [] }
            return dependsField(bytes)
        }
    }

    /// "kernel/drivers/vfio/pci/vfio-pci.ko" → "vfio_pci".
    public static func name(ofPath path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return normalize(file.hasSuffix(".ko") ? String(file.dropLast(3)) : file)
    }

    public static func normalize(_ name: String) -> String {
        String(name.map { $0 == "-" ? "_" : $0 })
    }

    /// The module names in a module file's "depends=" modinfo string.
    public static func dependsField(_ bytes: [UInt8]) -> [String] {
        let key = Array("depends=".utf8)
        var index = 0
        while index + key.count <= bytes.count {
            // Fields are NUL-separated "key=value" strings.
            if (index == 0 || bytes[index - 1] == 0) && bytes[index] == key[0]
                && Array(bytes[index..<index + key.count]) == key
            {
                var end = index + key.count
                while end < bytes.count && bytes[end] != 0 { end += 1 }
                let value = String(decoding: bytes[(index + key.count)..<end], as: UTF8.self)
                return value.split(separator: ",").map { normalize(String($0)) }
            }
            index += 1
        }
        return []
    }

    /// Paths (relative to the modules root) of `names` and everything they
    /// depend on, each after its dependencies, each once.
    public func loadOrder(_ names: [String]) throws(LabError) -> [String] {
        var order = [String]()
        var visiting = Set<String>()
        var done = Set<String>()
        func visit(_ name: String) throws(LabError) {
            let name = Self.normalize(name)
            if done.contains(name) { return }
            guard let path = paths[name] else {
                throw LabError("kernel module \(name) is not in the kernel package (is the name right? modules use '_' or '-')")
            }
            guard visiting.insert(name).inserted else { throw LabError("kernel module \(name) depends on itself") }
            for dependency in dependencies(path) { try visit(dependency) }
            visiting.remove(name)
            done.insert(name)
            order.append(path)
        }
        for name in names { try visit(name) }
        return order
    }
}
