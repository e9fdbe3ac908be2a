#if canImport(Glibc)
import Glibc
#endif

/// A throw-away directory tree shaped like /sys and /proc, for tests that
/// read system files without touching the machine's devices.
final class SysfsFixture {
    let root: String

    init() {
        var template = Array("/tmp/dp-devbind-fixture.XXXXXX".utf8CString)
        root = String(cString: mkdtemp(&template)!)
    }

    deinit { Self.removeTree(root) }

    func file(_ path: String, _ text: String) {
        makeDirectories(String(path.split(separator: "/").dropLast().joined(separator: "/")))
        let fd = open(root + "/" + path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create fixture file \(path)")
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    func read(_ path: String) -> String {
        guard let file = fopen(root + "/" + path, "r") else { return "" }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = fread(&bytes, 1, bytes.count, file)
        return String(decoding: bytes[0..<n], as: UTF8.self)
    }

    func link(_ path: String, to target: String) {
        makeDirectories(String(path.split(separator: "/").dropLast().joined(separator: "/")))
        symlink(target, root + "/" + path)
    }

    func makeDirectories(_ path: String) {
        var current = root
        for component in path.split(separator: "/") {
            current += "/" + component
            mkdir(current, 0o755)
        }
    }

    /// A PCI function under sys/bus/pci/devices with its identity files.
    func pciDevice(_ address: String, vendor: UInt16, device: UInt16, classCode: UInt32, driver: String? = nil, interfaces: [String] = []) {
        let base = "sys/bus/pci/devices/\(address)"
        file(base + "/vendor", "0x\(String(vendor, radix: 16))\n")
        file(base + "/device", "0x\(String(device, radix: 16))\n")
        file(base + "/class", "0x\(String(classCode, radix: 16))\n")
        file(base + "/irq", "0\n")
        file(base + "/resource", "0x00000000fe000000 0x00000000fe01ffff 0x0000000000040200\n" + String(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", count: 12))
        var config = [UInt8](repeating: 0, count: 64)
        config[0] = UInt8(vendor & 0xff); config[1] = UInt8(vendor >> 8)
        config[2] = UInt8(device & 0xff); config[3] = UInt8(device >> 8)
        config[10] = UInt8((classCode >> 8) & 0xff); config[11] = UInt8(classCode >> 16)
        file(base + "/config", String(decoding: config, as: UTF8.self))
        file(base + "/driver_override", "(null)\n")
        if let driver {
            makeDirectories("sys/bus/pci/drivers/\(driver)")
            file("sys/bus/pci/drivers/\(driver)/unbind", "")
            link(base + "/driver", to: "../../../../bus/pci/drivers/\(driver)")
        }
        for interface in interfaces { makeDirectories(base + "/net/\(interface)") }
    }

    static func removeTree(_ path: String) {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else { unlink(child) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}
