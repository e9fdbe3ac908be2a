/// Keeps the guest's build honest. SwiftPM's incremental builds can leave
/// a module compiled against an older layout of a struct or class it
/// imports once a stored property is added (swiftlang/swift-package-manager
/// #10502, swiftlang/swift#89636): the package is not resilient, so the
/// stale module reads and writes fields at the old offsets. Seen here on
/// 2026-12-07: after `TCPConfiguration` gained a field, `.build-lab`
/// rebuilt TCP and Stack but not Sockets, and dp-echo called a closure
/// read from the wrong offset of `NetStack` (SIGSEGV at the first transfer).
///
/// So when any file of the package changed since the last guest build, the
/// package's own modules are rebuilt from scratch; its dependencies
/// (swift-nio and the rest) stay built. Nothing changed: nothing is removed,
/// and a product already built from these very files is not handed to
/// SwiftPM again (a no-op `swift build` still re-plans the package: about
/// 10 s per product on the lab machines, at every lab run of the tests).
///
/// The stamp's first line is the fingerprint, each further line a product
/// built from it.
enum LabBuildFreshness {
    static let stampName = "dp-lab-sources.stamp"

    /// The package's own non-test targets: module name and directory.
    static func localTargets(packageRoot: String) throws(LabError) -> [(module: String, path: String)] {
        let lines = try Subprocess.check(["sh", "-c", """
            swift package --package-path "$1" dump-package 2>/dev/null | python3 -c '
            import json, sys
            for t in json.load(sys.stdin)["targets"]:
                if t["type"] != "test":
                    print(t["name"].replace("-", "_"), t.get("path") or "Sources/" + t["name"])'
            """, "sh", packageRoot]).split(separator: "\n")
        let targets = lines.compactMap { line -> (module: String, path: String)? in
            let fields = line.split(separator: " ", maxSplits: 1).map(String.init)
            return fields.count == 2 ? (fields[0], fields[1]) : nil
        }
        guard !targets.isEmpty else { throw LabError("swift package dump-package listed no targets of \(packageRoot)") }
        return targets
    }

    /// A digest of the path, size and modification time of every file in
    /// the targets' directories and of the manifest, of the resolved
    /// dependency versions (their content: SwiftPM may rewrite the file)
    /// and of the compiler's version.
    static func sourcesFingerprint(packageRoot: String, paths: [String]) throws(LabError) -> String {
        try Subprocess.check(["sh", "-c", """
            cd "$1" && shift && { find Package.swift "$@" -type f -not -path '*/.build*' -not -path '*/__pycache__/*' \
              -printf '%p %s %T@\\n' 2>/dev/null | sort; cat Package.resolved 2>/dev/null; swift --version 2>&1; } | sha256sum
            """, "sh", packageRoot] + paths).split(separator: " ").first.map(String.init) ?? ""
    }

    /// Removes the package's own module builds (and SwiftPM's build plan,
    /// so that it plans them again) when their files changed since the
    /// stamp was written; returns the fingerprint to stamp after a good build.
    static func invalidateIfChanged(packageRoot: String, scratch: String, log: (String) -> Void) throws(LabError) -> String {
        let targets = try localTargets(packageRoot: packageRoot)
        let fingerprint = try sourcesFingerprint(packageRoot: packageRoot, paths: targets.map(\.path))
        let stamp = scratch + "/" + stampName
        let previous = readStamp(scratch: scratch)?.split(separator: "\n").first.map(String.init)
        guard previous != fingerprint else { return fingerprint }
        let release = scratch + "/release"
        guard (try? Subprocess.check(["test", "-d", release])) != nil else { return fingerprint }  // first build
        log("dp-lab: the package changed since the last guest build: rebuilding its \(targets.count) modules")
        let directories = targets.map { release + "/" + $0.module + ".build" }
        _ = try Subprocess.check(["rm", "-rf", stamp, scratch + "/release.yaml"] + directories)
        return fingerprint
    }

    /// The products the stamp says were built from `fingerprint` (none
    /// when the stamp is missing or was written for other files).
    static func productsBuilt(stamp: String?, fingerprint: String) -> Set<String> {
        guard let lines = stamp?.split(separator: "\n").map(String.init), lines.first == fingerprint else { return [] }
        return Set(lines.dropFirst())
    }

    /// The products of `requested` that need `swift build`: those not built
    /// from `fingerprint`, or whose executable is gone.
    static func productsToBuild(_ requested: [String], stamp: String?, fingerprint: String,
                                exists: (String) -> Bool) -> [String] {
        let built = productsBuilt(stamp: stamp, fingerprint: fingerprint)
        return requested.filter { !built.contains($0) || !exists($0) }
    }

    static func stampText(_ fingerprint: String, products: Set<String>) -> String {
        ([fingerprint] + products.sorted()).joined(separator: "\n") + "\n"
    }

    static func readStamp(scratch: String) -> String? {
        try? Subprocess.check(["cat", scratch + "/" + stampName])
    }

    static func writeStamp(_ fingerprint: String, products: Set<String>, scratch: String) throws(LabError) {
        _ = try Subprocess.check(["sh", "-c", "printf '%s' \"$1\" > \"$2\"", "sh",
                                  stampText(fingerprint, products: products), scratch + "/" + stampName])
    }
}
