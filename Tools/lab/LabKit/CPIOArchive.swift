#if canImport(Glibc)
import Glibc
#endif

/// Writes a cpio archive in the "newc" format, the one the Linux kernel
/// unpacks as an initramfs. Several archives may be concatenated: the
/// kernel unpacks them in order, later files replacing earlier ones.
public struct CPIOWriter {
    private var bytes: [UInt8] = []
    private var inode: UInt32 = 1

    public init() {}

    public mutating func addDirectory(_ path: String, mode: UInt32 = 0o755) {
        addEntry(path, mode: 0o040000 | mode, data: [])
    }

    public mutating func addFile(_ path: String, contents: [UInt8], mode: UInt32 = 0o644) {
        addEntry(path, mode: 0o100000 | mode, data: contents)
    }

    public mutating func addSymlink(_ path: String, target: String) {
        addEntry(path, mode: 0o120777, data: Array(target.utf8))
    }

    /// The finished archive, with its trailer.
    public mutating func finish() -> [UInt8] {
        addEntry("TRAILER!!!", mode: 0, data: [], countInode: false)
        return bytes
    }

    private mutating func addEntry(_ path: String, mode: UInt32, data: [UInt8], countInode: Bool = true) {
        let name = Array((path.hasPrefix("/") ? String(path.dropFirst()) : path).utf8) + [0]
        let fields: [UInt32] = [
            countInode ? inode : 0, mode, 0, 0, mode & 0o040000 != 0 ? 2 : 1, 0,
            UInt32(data.count), 0, 0, 0, 0, UInt32(name.count), 0,
        ]
        if countInode { inode += 1 }
        bytes += Array("070701".utf8)
        for field in fields { bytes += Array(hex8(field).utf8) }
        bytes += name
        pad()
        bytes += data
        pad()
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    private func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// Whole-file reads and writes for the lab's artifacts.
public enum LabFiles {
    public static func read(_ path: String) throws(LabError) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw LabError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Writes to `path` through a temporary file and a rename, so readers
    /// never see half a file.
    public static func write(_ bytes: [UInt8], to path: String) throws(LabError) {
        let temporary = path + ".tmp.\(getpid())"
        guard let file = fopen(temporary, "wb") else {
            throw LabError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw LabError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The path with every link resolved, nil when it does not exist.
    public static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The target of a symbolic link, nil for anything else.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Size and modification time, the cache's notion of "unchanged".
    public static func signature(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    public static func makeDirectories(_ path: String) throws(LabError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw LabError("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// True when the file starts with the ELF magic number.
    public static func isELF(_ path: String) -> Bool {
        guard let file = fopen(path, "rb") else { return false }
        defer { fclose(file) }
        var magic = [UInt8](repeating: 0, count: 4)
        return fread(&magic, 1, 4, file) == 4 && magic == [0x7f, 0x45, 0x4c, 0x46]
    }
}
