/// The shared libraries a dynamically linked file needs, as `ldd` names
/// them (with their dependencies, and the dynamic loader).
public enum SharedLibraries {
    public static func of(_ path: String) throws(LabError) -> [String] {
        let (status, output) = try Subprocess.run(["ldd", path])
        // Static executables make ldd fail with "not a dynamic executable".
        if status != 0 { return [] }
        return try parse(lddOutput: output, of: path)
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
