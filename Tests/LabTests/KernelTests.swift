import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import LabKit

@Suite struct KernelModulesTests {
    @Test func readsTheDependsField() {
        let bytes = Array("\u{7f}ELF...\0license=GPL\0depends=vfio,irqbypass,vfio-virqfd\0name=vfio_pci_core\0".utf8)
        #expect(KernelModules.dependsField(bytes) == ["vfio", "irqbypass", "vfio_virqfd"])
        #expect(KernelModules.dependsField(Array("\0depends=\0".utf8)) == [])
        #expect(KernelModules.dependsField(Array("nothing here".utf8)) == [])
        // A "depends=" inside another value is not the field.
        #expect(KernelModules.dependsField(Array("\0description=xdepends=foo\0".utf8)) == [])
    }

    @Test func namesFromPaths() {
        #expect(KernelModules.name(ofPath: "kernel/drivers/vfio/pci/vfio-pci.ko") == "vfio_pci")
        #expect(KernelModules.name(ofPath: "kernel/drivers/uio/uio.ko") == "uio")
    }

    let modules = KernelModules(
        paths: [
            "uio": "k/uio.ko", "uio_pci_generic": "k/uio_pci_generic.ko", "irqbypass": "k/irqbypass.ko",
            "vfio": "k/vfio.ko", "vfio_iommu_type1": "k/vfio_iommu_type1.ko", "vfio_virqfd": "k/vfio_virqfd.ko",
            "vfio_pci_core": "k/vfio-pci-core.ko", "vfio_pci": "k/vfio-pci.ko",
        ],
        dependencies: { path in
            switch path {
            case "k/uio_pci_generic.ko": return ["uio"]
            case "k/vfio_iommu_type1.ko": return ["vfio"]
            case "k/vfio_virqfd.ko": return ["vfio"]
            case "k/vfio-pci-core.ko": return ["vfio", "irqbypass", "vfio_virqfd"]
            case "k/vfio-pci.ko": return ["vfio-pci-core", "vfio"]
            default: return []
            }
        })

    @Test func loadOrderPutsDependenciesFirstOnce() throws {
        let order = try modules.loadOrder(KernelModules.labModules)
        #expect(order == [
            "k/uio.ko", "k/uio_pci_generic.ko", "k/vfio.ko", "k/vfio_iommu_type1.ko", "k/irqbypass.ko",
            "k/vfio_virqfd.ko", "k/vfio-pci-core.ko", "k/vfio-pci.ko",
        ])
    }

    @Test func unknownModuleAndCyclesAreErrors() {
        #expect(throws: LabError.self) { try modules.loadOrder(["e1001"]) }
        let cyclic = KernelModules(paths: ["a": "a.ko", "b": "b.ko"]) { $0 == "a.ko" ? ["b"] : ["a"] }
        #expect(throws: LabError.self) { try cyclic.loadOrder(["a"]) }
    }
}

@Suite struct KernelCacheTests {
    @Test func versionedPackageFromAptCacheDepends() {
        let output = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n"
        #expect(KernelCache.packageName(fromDepends: output) == "linux-image-6.1.0-56-amd64")
        #expect(KernelCache.packageName(fromDepends: "linux-image-amd64\n") == nil)
        #expect(KernelCache.packageName(fromDepends: "  Depends: linux-image-amd64\n") == nil)
    }
}

@Suite struct SharedLibrariesTests {
    @Test func pathsFromLddOutput() throws {
        let output = """
            \tlinux-vdso.so.1 (0x00007ffd)
            \tlibnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x00007f1)
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f3)
            """
        #expect(try SharedLibraries.parse(lddOutput: output, of: "x") == [
            "/lib/x86_64-linux-gnu/libnuma.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
        ])
    }

    @Test func missingLibraryIsAnError() {
        #expect(throws: LabError.self) {
            try SharedLibraries.parse(lddOutput: "\tlibpci.so.3 => not found\n", of: "dp-devbind")
        }
    }
}

@Suite struct LibraryLinkTests {
    /// A library reached through a chain of links, the way Debian's DPDK
    /// links /usr/lib/.../librte_x.so.23 into its pmds directory.
    @Test func chainsBecomeLinksAndOneFile() throws {
        var template = Array("/tmp/dp-lab-libs.XXXXXX".utf8CString)
        let root = String(cString: mkdtemp(&template)!)
        defer {
            for path in ["/lib/librte_x.so.23", "/lib/dpdk/librte_x.so.23", "/lib/dpdk/librte_x.so.23.0", "/lib/libc.so.6"] { unlink(root + path) }
            rmdir(root + "/lib/dpdk"); rmdir(root + "/lib"); rmdir(root)
        }
        mkdir(root + "/lib", 0o755)
        mkdir(root + "/lib/dpdk", 0o755)
        try LabFiles.write([1], to: root + "/lib/dpdk/librte_x.so.23.0")
        try LabFiles.write([2], to: root + "/lib/libc.so.6")
        symlink("librte_x.so.23.0", root + "/lib/dpdk/librte_x.so.23")
        symlink("dpdk/librte_x.so.23", root + "/lib/librte_x.so.23")
        let canonicalRoot = try #require(LabFiles.canonical(root))
        let entries = SharedLibraries.guestEntries([root + "/lib/librte_x.so.23", root + "/lib/libc.so.6", root + "/lib/librte_x.so.23"])
        #expect(entries.files == [canonicalRoot + "/lib/dpdk/librte_x.so.23.0", canonicalRoot + "/lib/libc.so.6"])
        #expect(entries.links.map(\.guest) == [canonicalRoot + "/lib/librte_x.so.23", canonicalRoot + "/lib/dpdk/librte_x.so.23"])
        #expect(entries.links.map(\.target) == ["dpdk/librte_x.so.23", "librte_x.so.23.0"])
    }
}
