/// What goes into the guest's initramfs: every file with its guest path
/// and where its bytes come from. Parent directories are added as needed.
public struct InitramfsManifest: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A host file (symbolic links followed).
        case file(String)
        case text(String)
        case symlink(String)
        case directory
    }

    public struct Entry: Sendable, Equatable {
        public let guestPath: String
        public let source: Source
        public let mode: UInt32
    }

    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init() {}

    public func entry(at guestPath: String) -> Entry? { index[guestPath].map { entries[$0] } }

    /// Adds an entry; a later entry for the same path replaces the earlier.
    public mutating func add(_ guestPath: String, _ source: Source, mode: UInt32 = 0o755) {
        var parent = ""
        for component in guestPath.split(separator: "/").dropLast() {
            parent += "/" + component
            if index[parent] == nil { append(Entry(guestPath: parent, source: .directory, mode: 0o755)) }
        }
        let entry = Entry(guestPath: guestPath, source: source, mode: mode)
        if let existing = index[guestPath] { entries[existing] = entry } else { append(entry) }
    }

    private mutating func append(_ entry: Entry) {
        index[entry.guestPath] = entries.count
        entries.append(entry)
    }

    /// The lab guest's files: busybox as the shell and tools, the init
    /// script, the project's executables in /usr/local/bin, the shared
    /// libraries they need at the paths ldd names, the kernel modules under
    /// /modules, the PCI name database (for dp-devbind status), and
    /// extra files at their guest paths.
    public static func lab(
        busybox: String, executables: [String], libraries: [String], libraryLinks: [(guest: String, target: String)] = [],
        modulesRoot: String, modules: [String], extraFiles: [(host: String, guest: String)],
        extraLinks: [(guest: String, target: String)] = [], pciIDs: String? = nil
    ) -> InitramfsManifest {
        var manifest = InitramfsManifest()
        for directory in ["/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/lab", "/usr/local/bin", "/sbin", "/usr/bin", "/usr/sbin"] {
            manifest.add(directory, .directory)
        }
        manifest.add("/var/tmp", .directory)
        manifest.add("/etc", .directory)
        // DPDK's runtime directory is /var/run/dpdk.
        manifest.add("/var/run", .symlink("../run"))
        manifest.add("/bin/busybox", .file(busybox))
        manifest.add("/bin/sh", .symlink("busybox"))
        manifest.add("/init", .text(InitScript.text))
        for executable in executables {
            let name = executable.split(separator: "/").last.map(String.init) ?? executable
            manifest.add("/usr/local/bin/" + name, .file(executable))
        }
        // Top-level links of a merged-/usr host (/lib -> usr/lib), so that
        // the loader paths baked into executables resolve.
        for top in ["/lib", "/lib64"] {
            if let target = LabFiles.linkTarget(top) { manifest.add(top, .symlink(target)) }
        }
        for library in libraries { manifest.add(library, .file(library)) }
        for link in libraryLinks { manifest.add(link.guest, .symlink(link.target)) }
        // Modules live in a lab folder of their own: /lib may be a link to usr/lib.
        for module in modules { manifest.add("/modules/" + module, .file(modulesRoot + "/" + module), mode: 0o644) }
        if let pciIDs { manifest.add(pciIDs, .file(pciIDs), mode: 0o644) }
        for file in extraFiles { manifest.add(file.guest, .file(file.host)) }
        for link in extraLinks { manifest.add(link.guest, .symlink(link.target)) }
        return manifest
    }

    /// A key that changes when any entry or any host file's size or
    /// modification time changes (FNV-1a, 64 bits, in hex).
    public func cacheKey(signature: (String) -> String?) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0xff
            hash = hash &* 0x100_0000_01b3
        }
        for entry in entries {
            mix(entry.guestPath)
            mix(String(entry.mode, radix: 8))
            switch entry.source {
            case .file(let path): mix("file " + path + " " + (signature(path) ?? "missing"))
            case .text(let text): mix("text " + text)
            case .symlink(let target): mix("link " + target)
            case .directory: mix("dir")
            }
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The archive's bytes.
    public func archive() throws(LabError) -> [UInt8] {
        var writer = CPIOWriter()
        for entry in entries {
            switch entry.source {
            case .directory: writer.addDirectory(entry.guestPath, mode: entry.mode)
            case .symlink(let target): writer.addSymlink(entry.guestPath, target: target)
            case .text(let text): writer.addFile(entry.guestPath, contents: Array(text.utf8), mode: entry.mode)
            case .file(let path): writer.addFile(entry.guestPath, contents: try LabFiles.read(path), mode: entry.mode)
            }
        }
        return writer.finish()
    }
}
