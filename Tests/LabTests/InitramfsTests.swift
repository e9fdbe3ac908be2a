import Testing
@testable import LabKit

/// Reads a newc archive back: (name, mode, data) per entry, trailer excluded.
func parseNewc(_ bytes: [UInt8]) throws -> [(name: String, mode: UInt32, data: [UInt8])] {
    var entries = [(name: String, mode: UInt32, data: [UInt8])]()
    var offset = 0
    func field(_ index: Int) throws -> UInt32 {
        let start = offset + 6 + index * 8
        return try #require(UInt32(String(decoding: bytes[start..<start + 8], as: UTF8.self), radix: 16))
    }
    while true {
        #expect(offset % 4 == 0)
        #expect(String(decoding: bytes[offset..<offset + 6], as: UTF8.self) == "070701")
        let mode = try field(1)
        let size = Int(try field(6))
        let nameSize = Int(try field(11))
        let nameStart = offset + 110
        let name = String(decoding: bytes[nameStart..<nameStart + nameSize - 1], as: UTF8.self)
        #expect(bytes[nameStart + nameSize - 1] == 0)
        var dataStart = nameStart + nameSize
        while dataStart % 4 != 0 { dataStart += 1 }
        let data = Array(bytes[dataStart..<dataStart + size])
        offset = dataStart + size
        while offset % 4 != 0 { offset += 1 }
        if name == "TRAILER!!!" { break }
        entries.append((name, mode, data))
    }
    #expect(offset == bytes.count)
    return entries
}

@Suite struct CPIOWriterTests {
    @Test func writesNewcEntriesAlignedWithTrailer() throws {
        var writer = CPIOWriter()
        writer.addDirectory("/lab")
        writer.addFile("/lab/run.conf", contents: Array("A=1\n".utf8))
        writer.addFile("/init", contents: Array("#!/bin/sh\n".utf8), mode: 0o755)
        writer.addSymlink("/bin/sh", target: "busybox")
        let entries = try parseNewc(writer.finish())
        #expect(entries.map(\.name) == ["lab", "lab/run.conf", "init", "bin/sh"])
        #expect(entries.map(\.mode) == [0o040755, 0o100644, 0o100755, 0o120777])
        #expect(entries[1].data == Array("A=1\n".utf8))
        #expect(entries[3].data == Array("busybox".utf8))
    }
}

@Suite struct InitramfsManifestTests {
    func labManifest(extra: [(host: String, guest: String)] = []) -> InitramfsManifest {
        InitramfsManifest.lab(
            busybox: "/bin/busybox", executables: ["/p/.build-lab/release/dp-devbind", "/p/.build-lab/release/dp-probe"],
            libraries: ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"],
            modulesRoot: "/cache/lib/modules/6.1", modules: ["kernel/drivers/vfio/vfio.ko", "kernel/drivers/vfio/pci/vfio-pci.ko"],
            extraFiles: extra, pciIDs: "/usr/share/misc/pci.ids")
    }

    @Test func holdsInitBusyboxExecutablesLibrariesAndModules() throws {
        let manifest = labManifest()
        #expect(manifest.entry(at: "/init")?.source == .text(InitScript.text))
        #expect(manifest.entry(at: "/bin/busybox")?.source == .file("/bin/busybox"))
        #expect(manifest.entry(at: "/bin/sh")?.source == .symlink("busybox"))
        #expect(manifest.entry(at: "/usr/local/bin/dp-devbind")?.source == .file("/p/.build-lab/release/dp-devbind"))
        #expect(manifest.entry(at: "/usr/local/bin/dp-probe")?.mode == 0o755)
        #expect(manifest.entry(at: "/lib64/ld-linux-x86-64.so.2")?.source == .file("/lib64/ld-linux-x86-64.so.2"))
        #expect(manifest.entry(at: "/modules/kernel/drivers/vfio/pci/vfio-pci.ko")?.source
            == .file("/cache/lib/modules/6.1/kernel/drivers/vfio/pci/vfio-pci.ko"))
        #expect(manifest.entry(at: "/usr/share/misc/pci.ids") != nil)
        for directory in ["/proc", "/sys", "/dev", "/tmp", "/lab"] {
            #expect(manifest.entry(at: directory)?.source == .directory)
        }
    }

    @Test func parentsComeBeforeChildrenAndPathsAreUnique() {
        let manifest = labManifest(extra: [(host: "/usr/bin/dpdk-testpmd", guest: "/usr/bin/dpdk-testpmd")])
        var seen = Set<String>()
        for entry in manifest.entries {
            let parent = entry.guestPath.split(separator: "/").dropLast().reduce("") { $0 + "/" + $1 }
            if !parent.isEmpty { #expect(seen.contains(parent), "\(entry.guestPath) before \(parent)") }
            #expect(seen.insert(entry.guestPath).inserted)
        }
        #expect(manifest.entry(at: "/usr/bin/dpdk-testpmd")?.source == .file("/usr/bin/dpdk-testpmd"))
    }

    @Test func laterEntryReplacesEarlier() {
        var manifest = InitramfsManifest()
        manifest.add("/a/b", .text("1"))
        manifest.add("/a/b", .text("2"))
        #expect(manifest.entries.map(\.guestPath) == ["/a", "/a/b"])
        #expect(manifest.entry(at: "/a/b")?.source == .text("2"))
    }

    @Test func cacheKeyFollowsFileSignatures() {
        let manifest = labManifest()
        let key = manifest.cacheKey { _ in "100:1.0" }
        #expect(key.count == 16)
        #expect(manifest.cacheKey { _ in "100:1.0" } == key)
        #expect(manifest.cacheKey { $0.hasSuffix("dp-probe") ? "100:2.0" : "100:1.0" } != key)
        #expect(labManifest(extra: [(host: "/x", guest: "/x")]).cacheKey { _ in "100:1.0" } != key)
    }

    @Test func archiveOfTextAndDirectories() throws {
        var manifest = InitramfsManifest()
        manifest.add("/init", .text("#!/bin/busybox sh\n"))
        manifest.add("/bin/sh", .symlink("busybox"))
        let entries = try parseNewc(manifest.archive())
        #expect(entries.map(\.name) == ["init", "bin", "bin/sh"])
    }
}

@Suite struct InitScriptTests {
    @Test func oneArgumentIsAShellLine() {
        #expect(InitScript.commandScript(["dp-devbind status; ls /dev/vfio"]) == "dp-devbind status; ls /dev/vfio\n")
    }

    @Test func severalArgumentsAreQuoted() {
        #expect(InitScript.commandScript(["echo", "it's", "a b"]) == "'echo' 'it'\\''s' 'a b'\n")
    }

    @Test func runConfigurationNamesModulesDriverAndNICs() throws {
        let nics = try LabNIC.plan(kinds: [.e1000, .virtio], macs: [], peerAddresses: [])
        let text = InitScript.runConfiguration(modules: ["kernel/a.ko", "kernel/b.ko"], hugepages: 64, access: .uio, nics: nics)
        #expect(text.contains("LAB_MODULES='kernel/a.ko kernel/b.ko'\n"))
        #expect(text.contains("LAB_HUGEPAGES=64\n"))
        #expect(text.contains("LAB_TIMEOUT=3600\n"))
        #expect(text.contains("LAB_DRIVER='uio_pci_generic'\n"))
        #expect(text.contains("LAB_NICS='0000:00:10.0 0000:00:11.0'\n"))
        #expect(InitScript.runConfiguration(modules: [], hugepages: 0, access: .none, nics: nics).contains("LAB_DRIVER=''"))
    }

    @Test func initMountsAndReportsStatusWithMarkers() {
        for needed in ["mount -t proc", "mount -t sysfs", "mount -t devtmpfs", "hugetlbfs", "nr_hugepages",
                       InitScript.readyMarker, InitScript.exitMarker + "$?", "poweroff -f", ". /lab/run.conf",
                       "timeout -s KILL \"$LAB_TIMEOUT\" sh /lab/command.sh"] {
            #expect(InitScript.text.contains(needed), "init lacks \(needed)")
        }
    }
}
