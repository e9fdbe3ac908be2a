@testable import Platform
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory tree of small text files (a fake sysfs), removed
/// when the value goes away.
final class FixtureTree {
    let path: String

    init(_ files: [String: String], links: [String: String] = [:]) throws {
        var template = Array("/tmp/dataplane-fixture-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PlatformError.systemCall("mkdtemp") }
        path = String(cString: made)
        for (relative, text) in files {
            let full = path + "/" + relative
            makeDirectories(String(full[..<full.lastIndex(of: "/")!]))
            try SystemFiles.writeCreating(text, to: full)
        }
        for (relative, target) in links {
            let full = path + "/" + relative
            makeDirectories(String(full[..<full.lastIndex(of: "/")!]))
            symlink(target, full)
        }
    }

    private func makeDirectories(_ directory: String) {
        var current = ""
        for part in directory.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
    }

    deinit {
        _ = system("rm -rf '\(path)'")
    }
}

extension SystemFiles {
    static func writeCreating(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw PlatformError.systemCall("create \(path)") }
        defer { close(fd) }
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    }
}
