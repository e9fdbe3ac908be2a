#if canImport(Glibc)
import Glibc
#endif

/// What a guest boots from: the kernel and the cached initramfs.
public struct LabArtifacts: Sendable {
    public let kernel: LabKernel
    public let initramfs: String
    /// Module paths (under /lib/modules in the guest) in load order.
    public let moduleLoadOrder: [String]
}

/// What to put into the guest besides the defaults.
public struct LabContents: Sendable {
    /// Executable products of this package, built with the static Swift
    /// standard library into the separate scratch path `.build-lab`.
    public var products: [String] = ["dp-devbind", "dp-probe"]
    /// Host files or directories, "HOST" (same path in the guest) or "HOST:GUEST".
    public var extraFiles: [String] = []
    /// Kernel modules beyond the lab's (e.g. "e1000" for a Linux comparison).
    public var extraModules: [String] = []

    public init() {}

    /// Extra files from the environment: DP_LAB_INCLUDE="HOST[:GUEST],...".
    public static func extraFilesFromEnvironment() -> [String] {
        guard let value = getenv("DP_LAB_INCLUDE") else { return [] }
        return String(cString: value).split(separator: ",").map(String.init)
    }
}

public enum LabBuilder {
    /// The package root: DP_LAB_PACKAGE_ROOT, or the nearest directory up
    /// from the current one that holds this package's Package.swift.
    public static func packageRoot() throws(LabError) -> String {
        if let value = getenv("DP_LAB_PACKAGE_ROOT") { return String(cString: value) }
        guard let current = getcwd(nil, 0) else { throw LabError("getcwd failed: \(String(cString: strerror(errno)))") }
        var directory = String(cString: current)
        free(current)
        while true {
            if let text = try? LabFiles.read(directory + "/Package.swift"),
                String(decoding: text, as: UTF8.self).contains("\"dp-lab\"")
            {
                return directory
            }
            guard let slash = directory.lastIndex(of: "/"), directory != "/" else { break }
            directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
        }
        throw LabError("run dp-lab inside the Dataplane package (or set DP_LAB_PACKAGE_ROOT)")
    }

    /// Builds the products for the guest (release, static Swift stdlib).
    public static func buildProducts(_ products: [String], packageRoot: String, log: (String) -> Void) throws(LabError) -> [String] {
        let scratch = packageRoot + "/.build-lab"
        let start = MonotonicClock.now
        log("dp-lab: building \(products.joined(separator: " ")) (release, static Swift stdlib, \(scratch))")
        let fingerprint = try LabBuildFreshness.invalidateIfChanged(packageRoot: packageRoot, scratch: scratch, log: log)
        let stamp = LabBuildFreshness.readStamp(scratch: scratch)
        let needed = LabBuildFreshness.productsToBuild(products, stamp: stamp, fingerprint: fingerprint) {
            LabFiles.exists(scratch + "/release/" + $0)
        }
        for product in needed {
            let (status, output) = try Subprocess.run([
                "swift", "build", "-c", "release", "--static-swift-stdlib",
                "--package-path", packageRoot, "--scratch-path", scratch, "--product", product,
            ])
            guard status == 0 else { throw LabError("building \(product) for the guest failed:\n\(output)") }
        }
        let built = LabBuildFreshness.productsBuilt(stamp: stamp, fingerprint: fingerprint).union(products)
        try LabBuildFreshness.writeStamp(fingerprint, products: built, scratch: scratch)
        log(needed.isEmpty ? "dp-lab: already built from these sources (\(format(MonotonicClock.now - start)) s)"
                           : "dp-lab: built in \(format(MonotonicClock.now - start)) s")
        return products.map { scratch + "/release/" + $0 }
    }

    /// Expands "HOST[:GUEST]" items: directories recursively, symbolic
    /// links to names in the same directory kept as links (so a library's
    /// .so, .so.N and .so.N.M are one copy), other links followed.
    public static func expandExtraFiles(_ items: [String]) throws(LabError)
        -> (files: [(host: String, guest: String)], links: [(guest: String, target: String)])
    {
        var result = [(host: String, guest: String)]()
        var links = [(guest: String, target: String)]()
        for item in items {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard let host = parts.first, host.hasPrefix("/") else {
                throw LabError("--include \(item): give an absolute host path, optionally followed by :GUEST-PATH")
            }
            let guest = parts.count > 1 ? parts[1] : host
            guard LabFiles.exists(host) else { throw LabError("--include \(item): \(host) does not exist") }
            if LabFiles.isDirectory(host) {
                // A directory's guest path defaults to its canonical host path,
                // where the links of libraries that point into it lead.
                let guestDirectory = parts.count > 1 ? guest : (LabFiles.canonical(host) ?? host)
                let listing = try Subprocess.check(["find", host, "(", "-type", "f", "-o", "-type", "l", ")"])
                for line in listing.split(separator: "\n").map(String.init) {
                    let guestPath = guestDirectory + String(line.dropFirst(host.count))
                    if let target = LabFiles.linkTarget(line), !target.contains("/") {
                        links.append((guestPath, target))
                    } else {
                        result.append((line, guestPath))
                    }
                }
            } else {
                result.append((host, guest))
            }
        }
        return (result, links)
    }

    /// Kernel, executables, libraries, modules and init in one cached
    /// archive under the cache's initramfs/ folder, rebuilt only when a
    /// file or the list changes.
    public static func prepare(_ contents: LabContents, log: (String) -> Void) throws(LabError) -> LabArtifacts {
        let kernel = try KernelCache.prepare(log: log)
        let root = try packageRoot()
        let executables = try buildProducts(contents.products, packageRoot: root, log: log)
        let extras = try expandExtraFiles(contents.extraFiles)

        var needed = [String]()
        for file in executables + extras.files.map(\.host) where LabFiles.isELF(file) {
            for library in try SharedLibraries.of(file) where !needed.contains(library) { needed.append(library) }
        }
        let libraries = SharedLibraries.guestEntries(needed)
        let modules = try KernelModules.scan(modulesRoot: kernel.modulesRoot)
            .loadOrder(KernelModules.labModules + contents.extraModules)
        guard let busybox = ["/bin/busybox", "/usr/bin/busybox"].first(where: LabFiles.exists) else {
            throw LabError("busybox is missing: install busybox-static (Tools/bootstrap.sh does)")
        }
        let manifest = InitramfsManifest.lab(
            busybox: busybox, executables: executables, libraries: libraries.files,
            libraryLinks: libraries.links,
            modulesRoot: kernel.modulesRoot, modules: modules, extraFiles: extras.files, extraLinks: extras.links,
            pciIDs: ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"].first(where: LabFiles.exists))

        let directory = KernelCache.directory + "/initramfs"
        try LabFiles.makeDirectories(directory)
        let key = manifest.cacheKey(signature: LabFiles.signature)
        let path = directory + "/initramfs-\(kernel.version)-\(key).cpio"
        if !LabFiles.exists(path) {
            let start = MonotonicClock.now
            let bytes = try manifest.archive()
            try LabFiles.write(bytes, to: path)
            log("dp-lab: initramfs \(path) (\(bytes.count >> 20) MiB, \(manifest.entries.count) entries) in \(format(MonotonicClock.now - start)) s")
            // Archives of earlier builds, untouched for a day, go.
            _ = try? Subprocess.run(["find", directory, "-name", "initramfs-*.cpio", "-mmin", "+1440", "-delete"])
        }
        return LabArtifacts(kernel: kernel, initramfs: path, moduleLoadOrder: modules)
    }
}

func format(_ seconds: Double) -> String {
    let tenths = Int((seconds * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
