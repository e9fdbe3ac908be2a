/// The shared libraries a dynamically linked file needs, as `ldd` names
/// them (with their dependencies, and the dynamic loader).
public enum SharedLibraries {
    public static func of(_ path: String) throws(LabError) -> [String] {
        let (status, output) = try Subprocess.run(["ldd", path])
        // Static executables make ldd fail with "not a dynamic executable".
        if status != 0 { return [] }
        return try parse(lddOutput: output, of: path)
    }

    /// Libraries as the guest needs them: at canonical directories (no
    /// /lib -> usr/lib detour), each symbolic link of a chain kept as a link
    /// and the file at its end copied once. A library reached both through
    /// a link and directly (DPDK's drivers) is then one object, not two.
    public static func guestEntries(_ paths: [String]) -> (files: [String], links: [(guest: String, target: String)]) {
        var files = [String]()
        var links = [(guest: String, target: String)]()
        for path in paths {
            var current = canonicalDirectory(path)
            var hops = 0
            while let target = LabFiles.linkTarget(current), hops < 16 {
                if !links.contains(where: { $0.guest == current }) { links.append((current, target)) }
                current = canonicalDirectory(target.hasPrefix("/") ? target : directory(of: current) + "/" + target)
                hops += 1
            }
            if !files.contains(current) { files.append(current) }
        }
        return (files, links)
    }

    private static func directory(of path: String) -> String {
        String(path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
    }

    /// `path` with its directory resolved and its last component kept.
    static func canonicalDirectory(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return (LabFiles.canonical(directory(of: path)) ?? directory(of: path)) + "/" + name
    }

    /// Paths from ldd's output; throws for a library ldd could not find.
    public static func parse(lddOutput: String, of path: String) throws(LabError) -> [String] {
        var result = [String]()
        for line in lddOutput.split(separator: "\n") {
            let text = line.trimmingWhitespace()
            if text.contains("=> not found") {
                throw LabError("\(path) needs \(text.split(separator: " ").first ?? ""), which is not installed")
            }
            let words = text.split(separator: " ")
            let candidate: Substring?
            if let arrow = words.firstIndex(of: "=>") {
                candidate = arrow + 1 < words.count ? words[arrow + 1] : nil
            } else {
                candidate = words.first
            }
            if let candidate, candidate.hasPrefix("/") { result.append(String(candidate)) }
        }
        return result
    }
}
