#if canImport(Glibc)
import Glibc
#endif

/// The guest kernel: Debian's linux-image package, downloaded once with
/// `apt-get download` and unpacked with `dpkg-deb -x` (no install) into a
/// cache outside git that every clone and CI run on the machine shares.
public struct LabKernel: Sendable {
    public let version: String
    public let vmlinuz: String
    /// …/lib/modules/VERSION of the unpacked package.
    public let modulesRoot: String
}

public enum KernelCache {
    /// `DP_LAB_CACHE` or /var/cache/dataplane-lab.
    public static var directory: String {
        if let value = getenv("DP_LAB_CACHE") { return String(cString: value) }
        return "/var/cache/dataplane-lab"
    }

    /// The versioned package behind the `linux-image-amd64` metapackage,
    /// from `apt-cache depends` output ("  Depends: linux-image-6.1.0-56-amd64").
    public static func packageName(fromDepends output: String) -> String? {
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2, words[0] == "Depends:" else { continue }
            let name = String(words[1])
            if name.hasPrefix("linux-image-"), name.hasSuffix("-amd64"),
                name.dropFirst("linux-image-".count).first?.isNumber == true
            {
                return name
            }
        }
        return nil
    }

    /// The unpacked kernel, fetching and unpacking it when the cache lacks it.
    public static func prepare(cache: String = directory, log: (String) -> Void) throws(LabError) -> LabKernel {
        let kernels = cache + "/kernels"
        try LabFiles.makeDirectories(kernels)
        let package = try currentPackage(log: log) ?? cachedPackages(kernels).last
        guard let package else {
            throw LabError("cannot tell which kernel to use: `apt-cache depends linux-image-amd64` names none and \(kernels) is empty (run apt-get update)")
        }
        let unpacked = kernels + "/" + package
        if !LabFiles.exists(unpacked + "/.complete") {
            let deb = try download(package, into: cache + "/downloads", log: log)
            log("dp-lab: unpacking \(deb)")
            let start = MonotonicClock.now
            let staging = unpacked + ".partial.\(getpid())"
            _ = try? Subprocess.check(["rm", "-rf", staging])
            try Subprocess.check(["dpkg-deb", "-x", deb, staging])
            try LabFiles.write(Array(package.utf8), to: staging + "/.complete")
            if LabFiles.exists(unpacked + "/.complete") {
                // Another run unpacked it meanwhile and may be using it.
                _ = try? Subprocess.check(["rm", "-rf", staging])
            } else {
                _ = try? Subprocess.check(["rm", "-rf", unpacked])
                guard rename(staging, unpacked) == 0 else {
                    throw LabError("cannot move \(staging) to \(unpacked): \(String(cString: strerror(errno)))")
                }
            }
            log("dp-lab: kernel unpacked in \(format(MonotonicClock.now - start)) s")
            removeOtherVersions(than: package, cache: cache, log: log)
        }
        let version = String(package.dropFirst("linux-image-".count))
        let kernel = LabKernel(
            version: version, vmlinuz: unpacked + "/boot/vmlinuz-" + version,
            modulesRoot: unpacked + "/lib/modules/" + version)
        guard LabFiles.exists(kernel.vmlinuz), LabFiles.isDirectory(kernel.modulesRoot) else {
            throw LabError("\(unpacked) lacks boot/vmlinuz-\(version) or lib/modules/\(version): delete it and run again")
        }
        return kernel
    }

    /// Older kernels (after a Debian update) and their .debs go, so the
    /// cache holds one version.
    private static func removeOtherVersions(than package: String, cache: String, log: (String) -> Void) {
        for folder in ["kernels", "downloads"] {
            let listing = (try? Subprocess.check(["ls", cache + "/" + folder])) ?? ""
            for name in listing.split(separator: "\n").map(String.init)
            where name.hasPrefix("linux-image-") && name != package && !name.hasPrefix(package + "_") && !name.contains(".partial") {
                log("dp-lab: removing the older kernel \(cache)/\(folder)/\(name)")
                _ = try? Subprocess.run(["rm", "-rf", cache + "/" + folder + "/" + name])
            }
        }
    }

    private static func currentPackage(log: (String) -> Void) throws(LabError) -> String? {
        guard let (status, output) = try? Subprocess.run(["apt-cache", "depends", "linux-image-amd64"]), status == 0 else {
            return nil
        }
        return packageName(fromDepends: output)
    }

    private static func cachedPackages(_ kernels: String) -> [String] {
        let listing = (try? Subprocess.check(["ls", kernels])) ?? ""
        return listing.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("linux-image-") && !$0.contains(".partial") && LabFiles.exists(kernels + "/" + $0 + "/.complete") }
            .sorted()
    }

    private static func download(_ package: String, into downloads: String, log: (String) -> Void) throws(LabError) -> String {
        try LabFiles.makeDirectories(downloads)
        if let deb = existingDeb(package, in: downloads) { return deb }
        log("dp-lab: downloading \(package) (about 70 MB) into \(downloads)")
        let start = MonotonicClock.now
        defer { log("dp-lab: download took \(format(MonotonicClock.now - start)) s") }
        let script = "cd \"$1\" && apt-get download -q \"$2\""
        var (status, output) = try Subprocess.run(["sh", "-c", script, "sh", downloads, package])
        if status != 0 {
            log("dp-lab: apt-get download failed, running apt-get update once")
            _ = try? Subprocess.run(["apt-get", "update", "-qq"])
            (status, output) = try Subprocess.run(["sh", "-c", script, "sh", downloads, package])
        }
        guard status == 0, let deb = existingDeb(package, in: downloads) else {
            throw LabError("apt-get download \(package) failed: \(output.trimmingWhitespace())")
        }
        return deb
    }

    private static func existingDeb(_ package: String, in downloads: String) -> String? {
        let listing = (try? Subprocess.check(["ls", downloads])) ?? ""
        return listing.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }.sorted().last
            .map { downloads + "/" + $0 }
    }
}
